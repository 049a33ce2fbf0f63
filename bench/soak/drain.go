package soak

import (
	"context"
	"errors"
	"maps"
	"net"
	"os"
	"os/exec"
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

// DrainResult is the drain that ends a run.
type DrainResult struct {
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
// (see the Turned constants). Anything else is an error.
type DrainKind struct {
	Kind       Kind           `json:"kind"`
	Served     int            `json:"served"`
	Expected   int            `json:"expected_refusals"`
	TurnedAway map[string]int `json:"turned_away,omitempty"`
	Errors     map[string]int `json:"errors,omitempty"`
	Examples   []string       `json:"error_examples,omitempty"`
}

// How a drain turns an exchange away.
const (
	TurnedBusy       = "503"         // a new connection answered 503 with Retry-After
	TurnedClosed     = "closed idle" // nothing back: the connection closed as the request arrived
	TurnedUnanswered = "unanswered"  // behind a response that said "Connection: close"
	TurnedRefused    = "refused"     // nothing listened any more
)

// turnedAway is how many exchanges of k the drain turned away.
func (k DrainKind) turnedAway() int {
	n := 0
	for _, c := range k.TurnedAway {
		n += c
	}
	return n
}

// Errors is the number of unexpected failures in the drain.
func (d *DrainResult) Errors() int {
	n := 0
	for _, k := range d.Kinds {
		for _, c := range k.Errors {
			n += c
		}
	}
	return n
}

// OK reports whether the drain was complete: the server exited with
// status 0 (every request it took answered within its grace period),
// every exchange was served or turned away, and no file was left behind.
func (d *DrainResult) OK() bool {
	return d.Exited && d.ExitCode == 0 && d.Errors() == 0 && d.TempFilesLeft == 0
}

// drain runs the load again for drainLead, signals the server to stop
// and keeps the load on until it has exited.
func drain(ctx context.Context, p *runner.Process, cfg Config, spill string) *DrainResult {
	d := &DrainResult{Lead: drainLead, ExitCode: -1, EarliestClosed: -drainExitLimit}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var signalled atomic.Int64 // UnixNano of the signal, 0 before
	var stopping atomic.Bool   // set once the server has exited
	var wg sync.WaitGroup
	tallies := map[Kind][]*drainTally{}
	for _, k := range Kinds {
		for w := range cfg.Workers[k] {
			t := &drainTally{}
			tallies[k] = append(tallies[k], t)
			c := newClient(k, p.Addr(), w*5)
			wg.Go(func() { t.work(loadCtx, c, &signalled, &stopping) })
		}
	}
	if sleep(ctx, drainLead) {
		at := time.Now()
		signalled.Store(at.UnixNano())
		if err := p.Signal(syscall.SIGTERM); err == nil {
			exitErr, exited := p.Wait(drainExitLimit)
			d.DrainTime, d.Exited = time.Since(at), exited
			if exited {
				d.ExitCode = exitCode(exitErr)
				if exitErr != nil {
					d.ExitErr = exitErr.Error()
				}
			}
		} else {
			d.ExitErr = err.Error()
		}
	}
	// What the server wrote before it exited is still in the sockets:
	// the exchanges in progress read it to the end (or find it cut).
	stopping.Store(true)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(opTimeout):
	}
	stopLoad()
	<-finished
	if ents, err := os.ReadDir(spill); err == nil {
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

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// drainTally is one worker's exchanges in the drain.
type drainTally struct {
	tally
	turnedAway map[string]int
	earliest   time.Duration // see DrainResult.EarliestClosed
	early      int           // see DrainResult.ClosedEarly
	turned     bool          // earliest is set
}

// work runs c's operations until stopping is set or ctx ends, judging
// those that fail after the signal by what came back on the wire.
func (t *drainTally) work(ctx context.Context, c client, signalled *atomic.Int64, stopping *atomic.Bool) {
	w := &wire{}
	ctx = context.WithValue(ctx, wireKey{}, w)
	defer c.close()
	for ctx.Err() == nil && !stopping.Load() {
		o := c.do(ctx)
		if ctx.Err() != nil {
			return
		}
		at := signalled.Load()
		if o.failed == 0 || at == 0 {
			t.add(o)
			continue
		}
		how, lead := turnedAway(o, w, time.Unix(0, at))
		switch {
		case how == "":
		case how == TurnedClosed && lead > drainMargin:
			o.errKind = ErrDropped
		default:
			if t.turnedAway == nil {
				t.turnedAway = map[string]int{}
			}
			t.turnedAway[how] += o.failed
			if how == TurnedClosed {
				t.lead(lead)
			}
			o.failed, o.err = 0, nil
			sleep(ctx, drainBackoff)
		}
		t.add(o)
	}
}

// turnedAway says how a drain turned away a failed exchange ("" if it
// is no way a drain may), and how long before the signal its request
// was written.
func turnedAway(o outcome, w *wire, signal time.Time) (how string, lead time.Duration) {
	lead = signal.Sub(w.wrote)
	switch o.errKind {
	case ErrRefused:
		return TurnedRefused, lead
	case ErrUnanswered:
		return TurnedUnanswered, lead
	case ErrBusy:
		return TurnedBusy, lead
	case ErrShort, ErrReset:
		if w.read == 0 {
			return TurnedClosed, lead
		}
	}
	return "", lead
}

// lead records a request that got nothing back, written lead before the
// signal.
func (t *drainTally) lead(lead time.Duration) {
	if lead > 0 {
		t.early++
	}
	if !t.turned || lead > t.earliest {
		t.earliest, t.turned = lead, true
	}
}

func (t *drainTally) merge(o *drainTally) {
	t.tally.merge(&o.tally)
	for how, n := range o.turnedAway {
		if t.turnedAway == nil {
			t.turnedAway = map[string]int{}
		}
		t.turnedAway[how] += n
	}
	if o.turned && (!t.turned || o.earliest > t.earliest) {
		t.earliest, t.turned = o.earliest, true
	}
	t.early += o.early
}

func (t *drainTally) result(k Kind) DrainKind {
	r := DrainKind{Kind: k, Served: t.served, Expected: t.expected, TurnedAway: maps.Clone(t.turnedAway), Examples: t.examples}
	if len(t.errors) > 0 {
		r.Errors = maps.Clone(t.errors)
	}
	return r
}

// wire is what one worker's connections last did on the wire: when the
// latest write began and how many bytes were read since. A worker is
// one goroutine, so it needs no lock.
type wire struct {
	wrote time.Time
	read  int64
}

// wireKey carries a worker's wire in the context its connections are
// dialled with.
type wireKey struct{}

// watched is a connection that reports to its worker's wire.
type watched struct {
	net.Conn
	w *wire
}

func (c *watched) Write(p []byte) (int, error) {
	c.w.wrote, c.w.read = time.Now(), 0
	return c.Conn.Write(p)
}

func (c *watched) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.read += int64(n)
	return n, err
}
