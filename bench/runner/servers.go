package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Server is one server the suite can run.
type Server struct {
	Name string
	// Kind groups servers in reports: "carhop", "peer", "baseline", "external".
	Kind string
	// Command builds the process for the server listening on addr; dir is
	// a temporary directory it may write configuration into.
	Command func(addr, dir string) (*exec.Cmd, error)
	// Missing, when not empty, says why the server cannot run here and how
	// to install it.
	Missing string
	// MaxConns, when set, is the most connections a scenario may open to
	// this server: beyond it the design would exhaust the machine (a
	// process per connection), so the scenario is reported as skipped.
	MaxConns int
}

// ServeFlag is the flag that puts the bench binary in server mode.
const ServeFlag = "-serve"

// selfServer runs `bench -serve name -addr addr` (see ServeMain).
func selfServer(name, kind string) Server {
	return Server{Name: name, Kind: kind, Command: func(addr, _ string) (*exec.Cmd, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return exec.Command(exe, ServeFlag, name, "-addr", addr), nil
	}}
}

// process is a running server.
type process struct {
	cmd  *exec.Cmd
	dir  string
	addr string
	done chan error
}

// start runs s pinned to cpu (when cpu >= 0) on a free port and waits
// until it answers GET / with 200.
func start(ctx context.Context, s Server, cpu int) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "carhop-bench-"+s.Name+"-")
	if err != nil {
		return nil, err
	}
	cmd, err := s.Command(addr, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if cpu >= 0 {
		if ts, err := exec.LookPath("taskset"); err == nil {
			cmd.Args = append([]string{ts, "-c", strconv.Itoa(cpu)}, cmd.Args...)
			cmd.Path = ts
		}
	}
	// Its own process group, so that stopping it reaches its children
	// (process-per-connection baselines, NGINX and Gunicorn workers).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = nil, nil
	if logf, err := os.Create(filepath.Join(dir, "server.log")); err == nil {
		cmd.Stdout, cmd.Stderr = logf, logf
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	p := &process{cmd: cmd, dir: dir, addr: addr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	if err := p.waitReady(ctx, 15*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		p.stop()
		return nil, fmt.Errorf("%s did not answer: %w\n%s", s.Name, err, tail(log, 2000))
	}
	return p, nil
}

func (p *process) waitReady(ctx context.Context, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(limit)
	for {
		resp, err := client.Get("http://" + p.addr + "/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case exitErr := <-p.done:
			p.done <- exitErr
			return fmt.Errorf("exited: %w", errors.Join(exitErr, err))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", limit, err)
		}
	}
}

// stop ends the server's whole process group: SIGTERM, then SIGKILL.
func (p *process) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	// The exit status of a server we are stopping tells nothing.
	select {
	case err := <-p.done:
		_ = err
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		err := <-p.done
		_ = err
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // stragglers in the group
	_ = os.RemoveAll(p.dir)
}

func (p *process) pid() int {
	// Under taskset the server is the exec'd taskset process itself
	// (taskset execs the command), so the pid is the server's.
	return p.cmd.Process.Pid
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
