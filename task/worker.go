package task

import (
	"log/slog"
	"runtime/debug"
)

// work is a worker's loop. A parked worker starts by reading its mailbox:
// New's wait there on the idle stack, and one taking a released task's
// place for a task Submit was given finds that task in it. One replacing
// a worker lost to runtime.Goexit, or taking a released task's place for
// the queue, starts by looking at the queue.
func (p *Pool) work(w *worker, parked bool) {
	clean := false
	defer func() {
		if clean {
			return
		}
		// A task called runtime.Goexit, which ends the goroutine even
		// through recover. A replacement keeps the pool at full strength,
		// unless the task's place has gone to another worker already.
		if w.left {
			p.exited()
			return
		}
		go p.work(w, false)
	}()
	var t Task
	if parked {
		t = <-w.wake
	} else {
		t = p.next(w)
	}
	for t != nil {
		p.run(w, t)
		if w.left {
			break // its place has gone to another worker
		}
		t = p.next(w)
	}
	clean = true
	p.exited()
}

// next returns the oldest queued task, or parks the worker until Submit
// hands it one. It returns nil when the worker should exit: the pool is
// closing and the queue is empty.
func (p *Pool) next(w *worker) Task {
	p.mu.Lock()
	if t := p.queue.pop(); t != nil {
		p.stats.running.Add(1)
		p.stats.queued.Store(int64(p.queue.len()))
		p.mu.Unlock()
		return t
	}
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.idle = append(p.idle, w)
	p.mu.Unlock()
	return <-w.wake
}

// run runs one task on w and keeps whatever it does from ending the
// worker. It sets w.left if the task's place went to another worker.
func (p *Pool) run(w *worker, t Task) {
	w.state.Store(working)
	returned := false
	defer func() {
		released := p.end(w)
		if returned {
			p.stats.finished(false, released)
			return
		}
		// Since Go 1.21 panic(nil) recovers as *runtime.PanicNilError, so
		// nil here means the task called runtime.Goexit; work replaces the
		// worker once the goroutine is gone.
		v := recover()
		p.stats.finished(true, released)
		if v == nil {
			p.logger().Error("task called runtime.Goexit; replacing its worker",
				slog.String("stack", string(debug.Stack())))
			return
		}
		p.logger().Error("task panicked",
			slog.Any("panic", v),
			slog.String("stack", string(debug.Stack())))
	}()
	if r, ok := t.(Releaser); ok {
		r.RunReleasing(w.release)
	} else {
		t.Run()
	}
	returned = true
}
