package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proc is one process seen in /proc.
type proc struct {
	pid, ppid int
	start     string // start time in clock ticks since boot: tells a pid's reuse apart
	state     string
	cmdline   string
	cwd       string
}

// readProc reads /proc/pid; ok is false when the process is gone.
func readProc(pid int) (proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return proc{}, false
	}
	// pid (comm) state ppid ... starttime is field 22; comm may hold
	// spaces and parentheses, so split after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return proc{}, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	cmd, _ := os.ReadFile(dir + "/cmdline")
	cwd, _ := os.Readlink(dir + "/cwd")
	return proc{pid: pid, ppid: ppid, state: f[0], start: f[19],
		cmdline: string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})), cwd: cwd}, true
}

// allProcs lists every process.
func allProcs() []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// descendants returns every live descendant of root.
func descendants(root int) []proc {
	procs := allProcs()
	in := map[int]bool{root: true}
	var out []proc
	for grew := true; grew; {
		grew = false
		for _, p := range procs {
			if in[p.ppid] && !in[p.pid] {
				in[p.pid] = true
				out = append(out, p)
				grew = true
			}
		}
	}
	return out
}

// alive reports whether p still runs (a zombie has ended).
func alive(p proc) bool {
	now, ok := readProc(p.pid)
	return ok && now.start == p.start && now.state != "Z"
}

// TestInterruptStopsEverything runs the bench binary, interrupts it while a
// server with children of its own runs (a process design's children, NGINX
// or Gunicorn workers), and checks that no process it started is left:
// neither one seen as its descendant, nor any process whose command line
// or working directory is under the temporary directory it was given.
func TestInterruptStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bench binary")
	}
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "bench")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		servers string
		extra   []string
	}{
		{"SIGINT process-per-conn", syscall.SIGINT, "process-per-conn", nil},
		{"SIGTERM process-pool", syscall.SIGTERM, "process-pool", nil},
		{"SIGINT nginx", syscall.SIGINT, "nginx", nil},
		{"SIGINT gunicorn", syscall.SIGINT, "gunicorn-sync", nil},
		{"SIGTERM waitress", syscall.SIGTERM, "waitress", nil}, // threads, no child processes
		{"SIGINT process-per-conn behind nginx", syscall.SIGINT, "process-per-conn", []string{"-behind-nginx", "buffered"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			// Many rounds of a short scenario: the run would last minutes.
			args := append([]string{"-quick", "-rounds", "200", "-scenarios", "keepalive",
				"-servers", tc.servers, "-out", filepath.Join(tmp, "out")}, tc.extra...)
			cmd := exec.Command(bin, args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			require.NoError(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() {
				// Whatever happened, leave nothing behind.
				_ = cmd.Process.Kill()
				for _, p := range allProcs() {
					if strings.Contains(p.cmdline, tmp) || strings.HasPrefix(p.cwd, tmp) {
						_ = syscall.Kill(p.pid, syscall.SIGKILL)
					}
				}
			})

			// Watch the bench process's tree until a server has a child of
			// its own (a process design's child, an NGINX or Gunicorn
			// worker) or, for a server without any, until it has run a
			// while.
			wantChild := tc.servers != "waitress"
			var serverSince time.Time
			seen := map[int]proc{}
			ready := false
			deadline := time.Now().Add(60 * time.Second)
			for !ready && time.Now().Before(deadline) {
				select {
				case err := <-done:
					require.FailNow(t, "bench ended before it was interrupted", "%v\n%s", err, stderr.String())
				case <-time.After(5 * time.Millisecond):
				}
				ds := descendants(cmd.Process.Pid)
				for _, p := range ds {
					seen[p.pid] = p
				}
				for _, p := range ds {
					if parent, ok := seen[p.ppid]; ok && isServer(parent, tmp, bin) {
						ready = true
					}
					if !wantChild && isServer(p, tmp, bin) {
						if serverSince.IsZero() {
							serverSince = time.Now()
						}
						ready = time.Since(serverSince) > 500*time.Millisecond
					}
				}
			}
			if !ready {
				t.Skipf("%s did not run (not installed?):\n%s", tc.servers, stderr.String())
			}
			// Keep watching while the signal is handled: processes started
			// after it count too.
			require.NoError(t, cmd.Process.Signal(tc.sig))
			var exited bool
			for end := time.Now().Add(30 * time.Second); !exited && time.Now().Before(end); {
				for _, p := range descendants(cmd.Process.Pid) {
					seen[p.pid] = p
				}
				select {
				case err := <-done:
					exited = true
					t.Logf("bench exited: %v", err)
				case <-time.After(5 * time.Millisecond):
				}
			}
			require.True(t, exited, "bench did not exit within 30 s of %v:\n%s", tc.sig, stderr.String())

			var left []string
			assert.Eventually(t, func() bool {
				left = left[:0]
				for _, p := range seen {
					if alive(p) {
						left = append(left, strconv.Itoa(p.pid)+" "+p.cmdline)
					}
				}
				for _, p := range allProcs() {
					if p.state != "Z" && (strings.Contains(p.cmdline, tmp) || strings.HasPrefix(p.cwd, tmp)) {
						left = append(left, strconv.Itoa(p.pid)+" "+p.cmdline+" (in "+p.cwd+")")
					}
				}
				return len(left) == 0
			}, 5*time.Second, 20*time.Millisecond, "processes left after %v", tc.sig)
			assert.Empty(t, left, "left running; bench said:\n%s", stderr.String())
			assert.Greater(t, len(seen), 2, "the run started servers and their children")
		})
	}
}

// isServer reports whether p is a server the runner started: a binary in
// server mode, or an external server configured in, or working in, the
// runner's temporary directory (which the suite itself, bin, is not).
func isServer(p proc, tmp, bin string) bool {
	if strings.Contains(p.cmdline, " -serve ") {
		return true
	}
	return !strings.Contains(p.cmdline, bin) && (strings.Contains(p.cmdline, tmp) || strings.HasPrefix(p.cwd, tmp))
}
