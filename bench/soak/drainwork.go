package soak

import (
	"context"
	"maps"
	"net"
	"time"
)

// drainTally is one worker's exchanges in the drain.
type drainTally struct {
	tally
	turnedAway map[string]int
	inRestart  map[string]int
	earliest   time.Duration // see DrainResult.EarliestClosed
	early      int           // see DrainResult.ClosedEarly
	turned     bool          // earliest is set
}

// work runs c's operations until the server has exited or ctx ends,
// judging those that fail after a signal by what came back on the wire.
func (t *drainTally) work(ctx context.Context, c client, st *stages) {
	w := &wire{}
	ctx = context.WithValue(ctx, wireKey{}, w)
	defer c.close()
	for ctx.Err() == nil && !st.stopping.Load() {
		o := c.do(ctx)
		if ctx.Err() != nil {
			return
		}
		at, restart := st.signalled.Load(), false
		if at == 0 {
			at, restart = st.restarted.Load(), true
		}
		if o.failed == 0 || at == 0 {
			t.add(o)
			continue
		}
		how, lead := turnedAway(o, w, time.Unix(0, at))
		if restart && (how == TurnedBusy || how == TurnedRefused) {
			how = "" // a restart hands the sockets over: no one is refused
		}
		switch {
		case how == "":
		case how == TurnedClosed && lead > drainMargin:
			o.errKind = ErrDropped
		default:
			t.turn(how, o.failed, restart)
			if how == TurnedClosed {
				t.lead(lead)
			}
			o.failed, o.err = 0, nil
			sleep(ctx, drainBackoff)
		}
		t.add(o)
	}
}

// turn counts n exchanges turned away how, in the restart or the drain.
func (t *drainTally) turn(how string, n int, restart bool) {
	m := &t.turnedAway
	if restart {
		m = &t.inRestart
	}
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[how] += n
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
	case ErrElsewhere:
		return TurnedReplaced, lead
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
		t.turn(how, n, false)
	}
	for how, n := range o.inRestart {
		t.turn(how, n, true)
	}
	if o.turned && (!t.turned || o.earliest > t.earliest) {
		t.earliest, t.turned = o.earliest, true
	}
	t.early += o.early
}

func (t *drainTally) result(k Kind) DrainKind {
	r := DrainKind{Kind: k, Served: t.served, Expected: t.expected, TurnedAway: maps.Clone(t.turnedAway),
		InRestart: maps.Clone(t.inRestart), Examples: t.examples}
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
