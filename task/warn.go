package task

import (
	"log/slog"
	"time"
)

// noteDepth passes a queue-depth warning to warnLoop unless one was written
// within the interval. It runs in Submit, so it must not block and should
// cost next to nothing when there is nothing to say: the logger may write to
// a full pipe, and an event loop waiting on it would stall every connection
// it serves, so the writing and the clock reading are left to warnLoop.
func (p *Pool) noteDepth(depth int) {
	// Several event loops may submit at once; the compare-and-swap lets
	// exactly one of them raise each warning.
	if p.cfg.warnEvery < 0 || p.warnQuiet.Load() || !p.warnQuiet.CompareAndSwap(false, true) {
		return
	}
	p.warnDepth.Store(int64(depth))
	// Never blocks: warnLoop took the previous signal before it cleared
	// warnQuiet, so the buffer of one is free.
	p.warnCh <- struct{}{}
}

// warnLoop writes the queue-depth warnings, off the submitting goroutines,
// and keeps warnQuiet set for an interval after each.
func (p *Pool) warnLoop() {
	defer p.exited()
	for {
		select {
		case <-p.warnCh:
			p.warnNow()
			if p.cfg.warnEvery > 0 {
				t := time.NewTimer(p.cfg.warnEvery)
				select {
				case <-t.C:
				case <-p.stop:
					t.Stop()
					return
				}
			}
			p.warnQuiet.Store(false)
		case <-p.stop:
			// A warning raised just before closing is still worth writing.
			select {
			case <-p.warnCh:
				p.warnNow()
			default:
			}
			return
		}
	}
}

func (p *Pool) warnNow() {
	p.logger().Warn("task queue depth",
		slog.Int64("depth", p.warnDepth.Load()),
		slog.Int("threads", p.threads))
}
