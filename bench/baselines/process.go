package baselines

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// The process designs start children by re-executing this very binary
// (os.Executable) with childEnv set to a mode; Child, called first thing
// in main, sees it and serves the descriptor inherited as fd 3. Re-exec
// stands in for fork, which a Go program cannot do safely.

const childEnv = "CARHOP_BASELINE_CHILD"

const (
	modeProbe = "probe" // exit with probeExit at once
	modeConn  = "conn"  // serve the connection on fd 3, then exit
	modePool  = "pool"  // accept and serve, one at a time, on the listener on fd 3
)

// probeExit is how a probe child proves it went through Child.
const probeExit = 79

// childFD is where a child finds its inherited socket: exec.Cmd puts
// ExtraFiles[0] right after stdin, stdout and stderr.
const childFD = 3

// childCommand prepares a child in mode, inheriting files from fd 3 on.
func childCommand(ctx context.Context, mode string, files ...*os.File) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr // a child's panic should be seen
	// If the parent dies without stopping them, children die too: a
	// benchmark must not leave servers behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// probe checks that this binary calls Child before anything else. A
// binary that does not would run its whole main in every child, once per
// connection: better one clear error at the start.
func probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd, err := childCommand(ctx, modeProbe)
	if err != nil {
		return err
	}
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == probeExit {
		return nil
	}
	if err == nil {
		err = errors.New("exit status 0")
	}
	return fmt.Errorf("baselines: %s does not serve as a baseline child, main must call baselines.Child() first: %w", cmd.Path, err)
}

// inheritable duplicates the socket under sc into a new *os.File for a
// child. conn.File() would do, but exec calls its Fd, which switches the
// socket, shared with the parent and every other child, to blocking mode.
func inheritable(sc syscall.Conn) (*os.File, error) {
	fd, err := rawDup(sc)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "socket"), nil
}

// children starts child processes and reaps each one as it exits, so that
// none is left a zombie.
type children struct {
	mu       sync.Mutex
	live     map[*exec.Cmd]struct{}
	stopping bool
	err      error         // the first failure: a child's own death, or a start
	failed   chan struct{} // closed with err set, for designs that stop on it
	wg       sync.WaitGroup
}

func newChildren() *children {
	return &children{live: make(map[*exec.Cmd]struct{}), failed: make(chan struct{})}
}

// start starts cmd and a goroutine that waits for it. Callers stop
// starting children before they call stop.
func (cs *children) start(cmd *exec.Cmd) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	cs.live[cmd] = struct{}{}
	cs.wg.Go(func() {
		err := cmd.Wait()
		cs.mu.Lock()
		defer cs.mu.Unlock()
		delete(cs.live, cmd)
		// After stop, a death is a kill, not a failure.
		if err != nil && !cs.stopping {
			cs.failLocked(fmt.Errorf("baselines: child %d: %w", cmd.Process.Pid, err))
		}
	})
	return nil
}

// fail records err if it is the first failure.
func (cs *children) fail(err error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.failLocked(err)
}

func (cs *children) failLocked(err error) {
	if cs.err == nil {
		cs.err = err
		close(cs.failed)
	}
}

// stop kills every live child, waits until all are reaped, and returns the
// first failure of a child before that.
func (cs *children) stop() error {
	cs.mu.Lock()
	cs.stopping = true
	for cmd := range cs.live {
		_ = cmd.Process.Kill()
	}
	cs.mu.Unlock()
	cs.wg.Wait()
	return cs.err
}
