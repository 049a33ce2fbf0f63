package task

import "slices"

// Releaser is a Task that may run far longer than a request should hold a
// worker: a handler that has taken its connection over (a websocket, a
// tunnel) or streams a response for as long as its client listens
// (server-sent events). The pool runs it with RunReleasing instead of Run.
//
// release, called while the task runs, stops the task counting against
// the threads: from then on it is counted in [Stats].Released, not
// Running, and the moment the pool needs a worker (a task is submitted,
// or queued already, with no worker idle) a new worker takes the task's
// place, and the task goes on running on its goroutine, which then ends
// with it. Without it, as many such tasks as there are threads would
// leave nothing to run the requests queued behind them. Until its place
// is needed the task keeps it, so that a stream that ends soon, which is
// most of them, costs no new worker. The pool bounds the ordinary tasks,
// not the released ones; whoever submits them bounds those (carhop's
// channels run at most one task per connection).
//
// release may be called from any goroutine, any number of times, while
// RunReleasing runs; only the first call does anything. It must not be
// kept past RunReleasing's return: the worker's next task could be the
// one it releases (a call while the worker waits for that task does
// nothing). It allocates nothing; a new worker taking the place
// allocates its own.
type Releaser interface {
	Task
	RunReleasing(release func())
}

// Worker states, in worker.state. Only the worker itself makes a task
// start and end (working, waiting); every other change is made with the
// pool's mutex held, so that a released worker is on the pool's list of
// them exactly while it is releasable.
const (
	waiting    int32 = iota // parked, or between tasks
	working                 // running a task that counts against the threads
	releasable              // running a released task, in the worker's place still (Pool.releasable)
	left                    // running a released task whose place a new worker has taken
)

// release makes w's task a released one, if w is running a task that is
// not one already, and gives its place away at once if tasks are queued.
func (p *Pool) release(w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !w.state.CompareAndSwap(working, releasable) {
		return
	}
	// Increment the next counter first, as Stats expects.
	p.stats.released.Add(1)
	p.stats.running.Add(-1)
	p.releasable = append(p.releasable, w)
	if p.queue.len() > 0 && p.leave() {
		p.live.Add(1)
		go p.work(p.newWorker(), false)
	}
}

// leave takes the place of the most recently released task still in one,
// for a new worker the caller starts, and reports whether there was one.
// Pool mutex held.
func (p *Pool) leave() bool {
	for n := len(p.releasable); n > 0; n-- {
		w := p.releasable[n-1]
		p.releasable[n-1] = nil
		p.releasable = p.releasable[:n-1]
		// Fails only if the task has just ended: its worker stays.
		if w.state.CompareAndSwap(releasable, left) {
			return true
		}
	}
	return false
}

// unlist takes w off the list of releasable workers, where it is unless
// leave took it off just as its task ended. Pool mutex held.
func (p *Pool) unlist(w *worker) {
	if i := slices.Index(p.releasable, w); i >= 0 {
		p.releasable = slices.Delete(p.releasable, i, i+1)
	}
}

// end ends the task w ran: w waits for the next, off the list of
// releasable workers, unless its place has gone to another (w.left). It
// reports whether the task had been released. From here on a late
// release finds w waiting and does nothing.
func (p *Pool) end(w *worker) (released bool) {
	switch w.state.Swap(waiting) {
	case working:
		return false
	case releasable:
		p.mu.Lock()
		p.unlist(w)
		p.mu.Unlock()
	case left:
		w.left = true
	}
	return true
}
