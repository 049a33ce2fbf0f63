// Package proctest starts carhop server processes for tests: it builds
// internal/testserver, runs it with its log in a file, finds the addresses
// it serves from that log, and makes sure every process a test started,
// and every process those started (graceful restarts), is gone when the
// test ends, reaping them so that their exit status can be checked.
//
// It owns only test processes and their temporary directories; it
// imports nothing of carhop's and is imported only by tests.
package proctest

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Build compiles internal/testserver into a temporary directory of t and
// returns the binary's path. Under go test -race the server is built with
// -race too, so that signals, drains and restarts run under the race
// detector: a race it finds ends the server with status 66 where a test
// expects 0.
func Build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "testserver")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "github.com/carhop/carhop/internal/testserver")...).CombinedOutput()
	if err != nil {
		t.Fatalf("building testserver: %v\n%s", err, out)
	}
	return bin
}

var subreaper sync.Once

// Proc is a started server process and its log.
type Proc struct {
	t   *testing.T
	Cmd *exec.Cmd
	Log string // the path of its stderr, shared with the processes it starts
}

// Start runs cmd (its Stdout and Stderr go to a log file) and kills it and
// every process it started when the test ends. The test process becomes
// a child subreaper, so that processes orphaned by a graceful restart are
// reparented to it and can be waited for (WaitExit).
func Start(t *testing.T, cmd *exec.Cmd) *Proc {
	t.Helper()
	subreaper.Do(func() {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			t.Logf("no subreaper (%v): orphans cannot be reaped", err)
		}
	})
	log := filepath.Join(t.TempDir(), "server.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatal(err)
	}
	_ = f.Close()
	p := &Proc{t: t, Cmd: cmd, Log: log}
	t.Cleanup(func() {
		// The whole process group: the server and what it started.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		for _, pid := range p.PIDs() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
		if cmd.ProcessState == nil {
			_ = cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("server log:\n%s", b)
		}
	})
	return p
}

var servingRE = regexp.MustCompile(`msg="carhop: serving" addr=(\S+) pid=(\d+)`)

// Addrs waits until the process with pid logs the addresses it serves,
// and returns them.
func (p *Proc) Addrs(pid int) []string {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var addrs []string
		for _, m := range p.matches() {
			if m[2] == strconv.Itoa(pid) {
				addrs = append(addrs, m[1])
			}
		}
		if len(addrs) > 0 {
			return addrs
		}
		if p.Cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(p.Log)
	p.t.Fatalf("process %d never logged its addresses:\n%s", pid, b)
	return nil
}

// PIDs are the processes that have logged that they serve, in order.
func (p *Proc) PIDs() []int {
	var pids []int
	seen := map[int]bool{}
	for _, m := range p.matches() {
		pid, _ := strconv.Atoi(m[2])
		if !seen[pid] {
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	return pids
}

func (p *Proc) matches() [][]string {
	f, err := os.Open(p.Log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// Count counts the log lines containing s.
func (p *Proc) Count(s string) int {
	b, _ := os.ReadFile(p.Log)
	return strings.Count(string(b), s)
}

// ErrTimeout is WaitExit's error when the process did not exit in time.
var ErrTimeout = errors.New("proctest: process did not exit in time")

// WaitExit waits up to d for process pid (a child, or an orphan
// reparented to this subreaper) to exit and returns its exit status; a
// process killed by a signal gives 128+signal, as a shell reports it.
func WaitExit(pid int, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err != nil {
			return -1, err
		}
		if got == pid {
			if ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return ws.ExitStatus(), nil
		}
		if time.Now().After(deadline) {
			return -1, ErrTimeout
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ReadPID reads a PID file; 0 if it is missing or being replaced.
func ReadPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
