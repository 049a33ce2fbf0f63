package task

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
)

// DefaultThreads is the number of workers [New] starts when asked for zero
// or fewer.
//
// Waitress defaults to 4 threads because Python's GIL lets only one of them
// run at a time anyway; more threads only help it overlap I/O. Go handlers
// run in parallel and routinely block on databases and upstream services,
// so 4 would leave the CPUs idle behind a few slow requests. The pool still
// exists to bound how many handlers run at once, and with them the memory
// and downstream connections a burst of clients can claim, so the default is
// a fixed number rather than one that grows with the machine: 32 keeps up
// to 32 cores busy with CPU-bound handlers, or 8 cores with handlers that
// wait three quarters of the time, and a parked worker costs only a few
// kilobytes of stack. Size it for the workload: the number of requests the
// backends behind the handlers should see at once.
const DefaultThreads = 32

// ErrClosed is returned by [Pool.Submit] once [Pool.Shutdown] or
// [Pool.Close] has begun.
var ErrClosed = errors.New("task: pool closed")

// A Pool runs submitted tasks on a fixed number of worker goroutines, in the
// order they were submitted. A task that will outlive any request
// ([Releaser]) can give its worker's place to a new one and run on beside
// them. Create one with [New]; the zero value is not usable.
type Pool struct {
	threads int
	cfg     config

	mu     sync.Mutex
	queue  queue
	idle   []*worker // parked workers, most recently parked last
	closed bool
	// releasable are the workers running a released task (Releaser)
	// whose place no new worker has taken yet, most recent last.
	releasable []*worker

	// Every task updates the counters from whichever worker runs it; the
	// padding keeps that traffic off the mutex's cache line.
	_     [64]byte
	stats counters
	_     [64]byte

	warnQuiet atomic.Bool  // a warning is pending or was written within the interval
	warnDepth atomic.Int64 // the depth the pending warning reports
	warnCh    chan struct{}
	stop      chan struct{} // closed when closing begins; ends the warner

	live atomic.Int32  // goroutines of the pool still running
	done chan struct{} // closed by the last of them to exit
}

// worker is a parked worker's mailbox. Submit hands a task straight to an
// idle worker through it, so the worker starts without touching the mutex;
// a nil task tells it to exit.
type worker struct {
	wake    chan Task    // capacity 1: a send to a parked worker never blocks
	state   atomic.Int32 // waiting, working, releasable or left (release.go)
	release func()       // Pool.release for this worker, made once (Releaser)
	left    bool         // the last task's place went to another worker; only w's goroutine touches it
}

// newWorker makes a worker's mailbox; its goroutine is the caller's to
// start.
func (p *Pool) newWorker() *worker {
	w := &worker{wake: make(chan Task, 1)}
	w.release = func() { p.release(w) }
	return w
}

// New starts a pool of threads workers, or [DefaultThreads] if threads <= 0.
// The workers run until [Pool.Shutdown] or [Pool.Close].
func New(threads int, opts ...Option) *Pool {
	if threads <= 0 {
		threads = DefaultThreads
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	p := &Pool{
		threads: threads,
		cfg:     cfg,
		idle:    make([]*worker, 0, threads),
		warnCh:  make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	p.live.Store(int32(threads))
	for range threads {
		// Workers start out parked, so that tasks submitted before their
		// goroutines are scheduled are handed over, not queued behind a
		// spurious queue-depth warning.
		w := p.newWorker()
		p.idle = append(p.idle, w)
		go p.work(w, true)
	}
	if cfg.warnEvery >= 0 {
		p.live.Add(1)
		go p.warnLoop()
	}
	return p
}

// Submit queues t to run on a worker and returns without waiting for it.
// Tasks are handed to workers in the order they were submitted; an idle
// worker takes t at once, otherwise the first worker to finish its task
// does.
//
// Submit never waits for a worker, a task or the logger, only for the
// pool's mutex, which is held for a few instructions at a time. That makes
// it safe to call from an event loop, and it is safe to call from any
// goroutine, tasks included. In exchange the queue is unbounded: the caller
// must bound it, as carhop's channels do by keeping at most one task per
// connection queued or running.
//
// Submit returns [ErrClosed], and does not run t, once Shutdown or Close has
// begun. t must not be nil; a nil t is a bug in the caller and panics.
func (p *Pool) Submit(t func()) error {
	if t == nil {
		panic("task: Submit of a nil task")
	}
	return p.SubmitTask(Func(t))
}

// Task is work for the pool: a value whose Run method a worker calls. It
// lets a long-lived object be its own task (carhop's channels are), where
// a func would be a closure allocated per object.
type Task = interface{ Run() }

// Func makes a func a Task; the conversion allocates nothing.
type Func func()

// Run calls f.
func (f Func) Run() { f() }

// SubmitTask is Submit for a Task.
func (p *Pool) SubmitTask(t Task) error {
	if t == nil {
		panic("task: Submit of a nil task")
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.stats.running.Add(1)
		p.mu.Unlock()
		w.wake <- t
		return nil
	}
	if p.leave() {
		// A released task gives its place to a new worker, for t.
		p.stats.running.Add(1)
		p.live.Add(1)
		p.mu.Unlock()
		w := p.newWorker()
		w.wake <- t
		go p.work(w, true)
		return nil
	}
	// No worker is idle, so every queued task, this one included, is
	// waiting: that is Waitress's "queued tasks outnumber idle threads".
	p.queue.push(t)
	depth := p.queue.len()
	p.stats.queued.Store(int64(depth))
	p.mu.Unlock()
	p.noteDepth(depth)
	return nil
}

// Shutdown stops the pool gracefully: Submit returns [ErrClosed] from the
// moment it begins, tasks already queued or running are finished, and then
// the workers exit and Shutdown returns nil.
//
// If ctx ends first, Shutdown drops the tasks still queued, counts them in
// [Stats].Dropped, logs how many, and returns ctx.Err(). Like Waitress's
// shutdown(cancel_pending=True), it cancels only what has not started:
// tasks already running cannot be stopped and finish in the background,
// after which their workers exit. Call Shutdown again to wait for them.
//
// Shutdown is safe to call from any goroutine, any number of times and
// concurrently with Close and itself. Called from a task, it waits for that
// task too, so it returns only when ctx ends.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.close()
	select {
	case <-p.done:
		return nil
	default:
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		p.drop()
		return ctx.Err()
	}
}

// Close stops the pool without waiting: Submit returns [ErrClosed] from now
// on, queued tasks are dropped (counted in [Stats].Dropped and logged),
// running tasks finish in the background and then their workers exit.
// Follow it with Shutdown to wait for them. Close always returns nil.
//
// Close is safe to call from any goroutine, tasks included, any number of
// times and concurrently with Shutdown and itself.
func (p *Pool) Close() error {
	p.close()
	p.drop()
	return nil
}

// close makes Submit refuse tasks and tells idle workers to exit; the busy
// ones exit when they find the queue empty.
func (p *Pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for i, w := range p.idle {
		w.wake <- nil
		p.idle[i] = nil
	}
	p.idle = p.idle[:0]
	close(p.stop)
}

// drop discards the queued tasks.
func (p *Pool) drop() {
	p.mu.Lock()
	n := p.queue.clear()
	if n > 0 {
		p.stats.dropped.Add(uint64(n))
		p.stats.queued.Store(0)
	}
	p.mu.Unlock()
	if n > 0 {
		p.logger().Warn("task pool dropped queued tasks", slog.Int("dropped", n))
	}
}

// exited is called by each of the pool's goroutines as it ends.
func (p *Pool) exited() {
	if p.live.Add(-1) == 0 {
		close(p.done)
	}
}

func (p *Pool) logger() *slog.Logger {
	if p.cfg.logger != nil {
		return p.cfg.logger
	}
	return slog.Default()
}
