package runner

import (
	"context"
	"os"
	"time"
)

// Process is a server started by Start: a process group of its own,
// stopped with everything in it by Stop.
type Process struct{ p *process }

// Start runs s the way the suite does (see Server): on a free port of
// 127.0.0.1, pinned to cpu when cpu >= 0, with its output in server.log
// in a fresh temporary directory that Command receives and Stop removes;
// it returns once the server answers GET / with 200. Other scenarios than
// the suite's (bench/soak) start their servers through it.
func Start(ctx context.Context, s Server, cpu int) (*Process, error) {
	p, err := start(ctx, s, cpu)
	if err != nil {
		return nil, err
	}
	return &Process{p: p}, nil
}

// Addr is the "127.0.0.1:port" the server listens on.
func (p *Process) Addr() string { return p.p.addr }

// Pid is the server's process id (the server itself, not a taskset).
func (p *Process) Pid() int { return p.p.pid() }

// Dir is the temporary directory the server's Command was given.
func (p *Process) Dir() string { return p.p.dir }

// Exited reports whether the server has exited on its own.
func (p *Process) Exited() bool {
	select {
	case err := <-p.p.done:
		p.p.done <- err
		return true
	default:
		return false
	}
}

// Signal sends sig to the server alone (not its process group), as a
// supervisor asking it to drain does.
func (p *Process) Signal(sig os.Signal) error { return p.p.cmd.Process.Signal(sig) }

// Wait waits up to limit for the server to exit on its own and returns
// its exit error (nil for status 0); exited is false when it is still
// running. Stop may follow either way.
func (p *Process) Wait(limit time.Duration) (exitErr error, exited bool) {
	select {
	case err := <-p.p.done:
		p.p.done <- err
		return err, true
	case <-time.After(limit):
		return nil, false
	}
}

// Stop ends the server's process group (SIGTERM, then SIGKILL after 5s)
// and removes its directory. Call it exactly once.
func (p *Process) Stop() { p.p.stop() }

// DescribeMachine describes this machine for a report: CPU, cores,
// kernel, Go and the versions of the peers and external servers found.
func DescribeMachine() Machine { return describeMachine() }

// RaiseFileLimit lifts the soft descriptor limit to the hard one; the
// children started afterwards inherit it.
func RaiseFileLimit() { raiseFileLimit() }
