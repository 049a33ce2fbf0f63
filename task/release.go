package task

// Releaser is a Task that may run far longer than a request should hold a
// worker: a handler that has taken its connection over (a websocket, a
// tunnel) or streams a response for as long as its client listens
// (server-sent events). The pool runs it with RunReleasing instead of Run.
//
// release, called while the task runs, gives the task's place in the pool
// to a new worker: the task goes on running on its goroutine, outside the
// pool and no longer counted against the threads, and that goroutine ends
// with it. Without it, as many such tasks as there are threads would leave
// nothing to run the requests queued behind them. The pool then bounds
// the ordinary tasks, not the released ones; whoever submits them bounds
// those (carhop's channels run at most one task per connection).
//
// release may be called from any goroutine, any number of times, while
// RunReleasing runs; only the first call does anything. It must not be
// kept past RunReleasing's return: the worker's next task could be the
// one it releases (a call while the worker waits for that task does
// nothing). It allocates nothing but the new worker.
type Releaser interface {
	Task
	RunReleasing(release func())
}

// Worker states, in worker.state. A worker's place is its own while it
// runs a task unless the task releases it.
const (
	waiting  int32 = iota // parked, or between tasks
	working               // running a task on the pool's behalf
	released              // running a task that gave its place away
)

// release gives w's place to a new worker, if w is running a task that
// has not done so already.
func (p *Pool) release(w *worker) {
	if !w.state.CompareAndSwap(working, released) {
		return
	}
	// Increment the next counter first, as Stats expects.
	p.stats.released.Add(1)
	p.stats.running.Add(-1)
	p.live.Add(1) // w's goroutine is live, so done cannot have closed
	go p.work(p.newWorker(), false)
}
