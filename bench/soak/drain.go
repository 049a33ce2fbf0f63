package soak

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/carhop/carhop/bench/runner"
)

// The drain that ends a run: the same load again for drainLead, then
// SIGTERM while it goes on, as a supervisor stopping or replacing the
// server under traffic does.
const (
	// drainLead is how long the load runs before the signal: long
	// enough for every kind to have exchanges in flight when it comes.
	drainLead = 2 * time.Second
	// drainExitLimit bounds the wait for the server to exit: its grace
	// period and a margin for a loaded machine.
	drainExitLimit = shutdownTimeout + 10*time.Second
	// drainMargin is how long before the signal a request may have been
	// written and still get nothing back: the drain found its connection
	// idle and closed it. The server looks for input before it closes an
	// idle connection, so a request already in the socket is served; the
	// margin allows for the client's clock read before its write, on a
	// loaded machine. One written earlier is an error (ErrDropped).
	drainMargin = 20 * time.Millisecond
	// drainBackoff is a turned-away client's pause before it tries
	// again, as Retry-After asks, shorter to keep the drain busy.
	drainBackoff = 10 * time.Millisecond
)

// ErrDropped is an exchange that got nothing back, though its request
// was written more than drainMargin before the signal.
const ErrDropped = "dropped before the drain"

// DrainResult is the drain that ends a run. With Config.Restart the
// server is first replaced under the load (SIGHUP, a graceful restart),
// and the drain is the new process's.
type DrainResult struct {
	// Restart says the run replaced the server first: RestartTime from
	// SIGHUP to the old process's exit, with OldExitCode (0: it drained
	// completely), and NewPID the process that took over.
	Restart     bool          `json:"restart,omitempty"`
	RestartTime time.Duration `json:"restart_time_ns,omitempty"`
	OldExitCode int           `json:"old_exit_code,omitempty"`
	NewPID      int           `json:"new_pid,omitempty"`
	// Lead is how long the load ran before the signal; DrainTime from
	// the signal to the server's exit.
	Lead      time.Duration `json:"lead_ns"`
	DrainTime time.Duration `json:"drain_time_ns"`
	// Exited reports whether the server exited within drainExitLimit,
	// ExitCode with what (0: a complete drain; 1: the grace period ran
	// out or Serve failed; -1: not exited or killed by a signal).
	Exited   bool   `json:"exited"`
	ExitCode int    `json:"exit_code"`
	ExitErr  string `json:"exit_error,omitempty"`
	// TempFilesLeft counts what the spill directory held after the exit.
	TempFilesLeft int         `json:"temp_files_left"`
	Kinds         []DrainKind `json:"kinds"`
	// EarliestClosed is how long before the signal the earliest request
	// that got nothing back was written (negative: after it; -15 s when
	// none did).
	EarliestClosed time.Duration `json:"earliest_closed_ns"`
	// ClosedEarly counts the exchanges that got nothing back though their
	// request was written before the signal (within drainMargin): the
	// keep-alive race as the server leaves it.
	ClosedEarly int `json:"closed_early"`
}

// DrainKind is one kind's exchanges in the drain: Served and Expected
// as in KindResult; TurnedAway the exchanges the drain declined, by how
// (see the Turned constants), and InRestart those the old process
// declined while the new one took over (closed idle or unanswered only:
// a restart refuses no one). Anything else is an error.
type DrainKind struct {
	Kind       Kind           `json:"kind"`
	Served     int            `json:"served"`
	Expected   int            `json:"expected_refusals"`
	TurnedAway map[string]int `json:"turned_away,omitempty"`
	InRestart  map[string]int `json:"turned_away_in_restart,omitempty"`
	Errors     map[string]int `json:"errors,omitempty"`
	Examples   []string       `json:"error_examples,omitempty"`
}

// How a drain turns an exchange away.
const (
	TurnedBusy       = "503"         // a new connection answered 503 with Retry-After
	TurnedClosed     = "closed idle" // nothing back: the connection closed as the request arrived
	TurnedUnanswered = "unanswered"  // behind a response that said "Connection: close"
	TurnedRefused    = "refused"     // nothing listened any more
	// TurnedReplaced is an aborting client whose handler ran in the
	// process a restart replaced: what it saw went with that process.
	TurnedReplaced = "replaced"
)

// Errors is the number of unexpected failures in the drain.
func (d *DrainResult) Errors() int {
	n := 0
	for _, k := range d.Kinds {
		n += total(k.Errors)
	}
	return n
}

// OK reports whether the drain was complete: the server exited with
// status 0 (every request it took answered within its grace period),
// every exchange was served or turned away, and no file was left behind.
func (d *DrainResult) OK() bool {
	return d.Exited && d.ExitCode == 0 && d.Errors() == 0 && d.TempFilesLeft == 0 && (!d.Restart || d.OldExitCode == 0)
}

// drain runs the load again for drainLead, signals the server to stop
// and keeps the load on until it has exited. With cfg.Restart it first
// sends SIGHUP, waits for the old process to exit and runs the load on
// the new one for drainLead more.
func drain(ctx context.Context, p *runner.Process, cfg Config) *DrainResult {
	d := &DrainResult{Lead: drainLead, ExitCode: -1, EarliestClosed: -drainExitLimit, Restart: cfg.Restart}
	if cfg.Restart {
		d.OldExitCode = -1 // until it exits
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var st stages
	var wg sync.WaitGroup
	tallies := map[Kind][]*drainTally{}
	for _, k := range Kinds {
		for w := range cfg.Workers[k] {
			t := &drainTally{}
			tallies[k] = append(tallies[k], t)
			c := newClient(k, p.Addr(), w*5)
			wg.Go(func() { t.work(loadCtx, c, &st) })
		}
	}
	d.stop(ctx, p, cfg, &st)
	// What the server wrote before it exited is still in the sockets:
	// the exchanges in progress read it to the end (or find it cut).
	st.stopping.Store(true)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(opTimeout):
	}
	stopLoad()
	<-finished
	if ents, err := os.ReadDir(filepath.Join(p.Dir(), spillDir)); err == nil {
		d.TempFilesLeft = len(ents)
	}
	for _, k := range Kinds {
		all := &drainTally{}
		for _, t := range tallies[k] {
			all.merge(t)
		}
		d.Kinds = append(d.Kinds, all.result(k))
		if all.turned {
			d.EarliestClosed = max(d.EarliestClosed, all.earliest)
		}
		d.ClosedEarly += all.early
	}
	return d
}

// stages are the moments of a drain the workers judge by: the SIGHUP of
// a restart, the SIGTERM (UnixNano, 0 before), and the server's exit.
type stages struct {
	restarted, signalled atomic.Int64
	stopping             atomic.Bool
}

// stop restarts the server if cfg asks, then signals it to stop and
// waits for it to exit, recording what happened in d.
func (d *DrainResult) stop(ctx context.Context, p *runner.Process, cfg Config, st *stages) {
	if !sleep(ctx, drainLead) {
		return
	}
	pid, wait := p.Pid(), p.Wait
	if cfg.Restart {
		at := time.Now()
		st.restarted.Store(at.UnixNano())
		if err := p.Signal(syscall.SIGHUP); err != nil {
			d.ExitErr = err.Error()
			return
		}
		exitErr, exited := p.Wait(drainExitLimit)
		d.RestartTime = time.Since(at)
		if !exited {
			d.ExitErr = "the old process did not exit after SIGHUP"
			return
		}
		d.OldExitCode = exitCode(exitErr)
		newPID, err := readPID(filepath.Join(p.Dir(), pidFile))
		if err != nil {
			d.ExitErr = err.Error()
			return
		}
		d.NewPID, pid, wait = newPID, newPID, func(limit time.Duration) (error, bool) { return waitOrphan(newPID, limit) }
		if !sleep(ctx, drainLead) {
			return
		}
	}
	at := time.Now()
	st.signalled.Store(at.UnixNano())
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		d.ExitErr = err.Error()
		return
	}
	exitErr, exited := wait(drainExitLimit)
	d.DrainTime, d.Exited = time.Since(at), exited
	if exited {
		d.ExitCode = exitCode(exitErr)
		if exitErr != nil {
			d.ExitErr = exitErr.Error()
		}
	}
}

// readPID reads the process ID a graceful restart's new process wrote.
func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("soak: the new process's PID file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("soak: the new process's PID file: %w", err)
	}
	return pid, nil
}

func exitCode(err error) int {
	var ee interface{ ExitCode() int } // *exec.ExitError, *orphanExit
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}
