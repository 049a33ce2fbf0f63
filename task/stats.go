package task

import "sync/atomic"

// Stats is a snapshot of a [Pool], for monitoring.
//
// The fields are read one after another, not as one atomic snapshot, in an
// order chosen so that a task submitted and accepted before the snapshot is
// never missing from it: it is counted in Queued, Running, Released,
// Completed or Dropped, and while it moves from one to the next it may
// briefly be counted in both. So a snapshot with Queued, Running and
// Released all zero shows that every task accepted before it has finished
// or been dropped: the pool is idle.
type Stats struct {
	Threads   int    // workers, fixed by New; released tasks run beside them
	Queued    int    // tasks waiting for a worker
	Running   int    // tasks handed to a worker and neither finished nor released yet
	Released  int    // tasks that released their worker's place (Releaser) and have not finished
	Completed uint64 // tasks that have finished, including those that panicked
	Panics    uint64 // tasks that panicked or called runtime.Goexit
	Dropped   uint64 // accepted tasks discarded by Close or an expired Shutdown before they started
}

// counters back Stats. Every task moves forward through them, and each
// move increments the next counter before decrementing the previous one,
// which is what lets Stats promise that no task goes missing.
type counters struct {
	queued    atomic.Int64
	running   atomic.Int64
	released  atomic.Int64
	completed atomic.Uint64
	panics    atomic.Uint64
	dropped   atomic.Uint64
}

// finished records the end of a running task, one that released its
// place or one still on its worker.
func (c *counters) finished(panicked, released bool) {
	if panicked {
		c.panics.Add(1)
	}
	c.completed.Add(1)
	if released {
		c.released.Add(-1)
	} else {
		c.running.Add(-1)
	}
}

// Stats reports the pool's counters. It is cheap (a few atomic loads, no
// lock) and safe to call from any goroutine, including tasks and event
// loops, at any time, also after Close or Shutdown.
func (p *Pool) Stats() Stats {
	// Load in the order tasks move: Queued, Running, Released, Completed,
	// Dropped.
	queued := p.stats.queued.Load()
	running := p.stats.running.Load()
	released := p.stats.released.Load()
	completed := p.stats.completed.Load()
	panics := p.stats.panics.Load()
	dropped := p.stats.dropped.Load()
	return Stats{
		Threads:   p.threads,
		Queued:    int(queued),
		Running:   int(running),
		Released:  int(released),
		Completed: completed,
		Panics:    panics,
		Dropped:   dropped,
	}
}
