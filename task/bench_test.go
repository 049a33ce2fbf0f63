package task

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
)

// The pool against the two obvious alternatives, in the same run, as
// sub-benchmarks mode=X/impl=Y so that `benchstat -col /impl` lines them up:
//
//   - impl=pool: this package.
//   - impl=go: a goroutine per task. No bound at all, which is what the
//     pool exists to avoid, but the cost floor of starting work in Go.
//   - impl=chan: DefaultThreads workers reading a buffered chan func().
//     Bounded, but a full channel blocks the submitter, and an event loop
//     must never block; the buffer here is large enough that it never fills.
//
// Modes:
//
//   - roundtrip: one submitter, one task in flight; latency of a hand-off
//     to an idle worker and back.
//   - parallelN: N×GOMAXPROCS submitters, each with one task in flight, as
//     connections keep one task each; throughput under contention. N=1 is
//     one submitter per core, as carhop runs one event loop per core; N=8
//     adds tasks that submit, and contention well beyond that.
//   - burst: 1024 tasks submitted at once, then awaited; the queue fills
//     and drains, and its ring must be reused (0 allocs per task).

type submitter interface {
	Submit(func()) error
	stop()
}

type poolImpl struct{ *Pool }

func (p poolImpl) stop() { _ = p.Shutdown(context.Background()) }

type goImpl struct{}

func (goImpl) Submit(t func()) error { go t(); return nil }
func (goImpl) stop()                 {}

type chanImpl struct {
	tasks chan func()
	wg    sync.WaitGroup
}

func newChanImpl(threads, buffer int) *chanImpl {
	c := &chanImpl{tasks: make(chan func(), buffer)}
	for range threads {
		c.wg.Go(func() {
			for t := range c.tasks {
				t()
			}
		})
	}
	return c
}

func (c *chanImpl) Submit(t func()) error { c.tasks <- t; return nil }
func (c *chanImpl) stop()                 { close(c.tasks); c.wg.Wait() }

var impls = []struct {
	name string
	new  func() submitter
}{
	{"pool", func() submitter {
		return poolImpl{New(DefaultThreads, WithLogger(slog.New(slog.DiscardHandler)))}
	}},
	{"go", func() submitter { return goImpl{} }},
	{"chan", func() submitter { return newChanImpl(DefaultThreads, 4096) }},
}

func BenchmarkSubmit(b *testing.B) {
	for _, impl := range impls {
		b.Run("mode=roundtrip/impl="+impl.name, func(b *testing.B) {
			s := impl.new()
			defer s.stop()
			done := make(chan struct{})
			t := func() { done <- struct{}{} }
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Submit(t); err != nil {
					b.Fatal(err)
				}
				<-done
			}
		})
	}
	for _, par := range []int{1, 8} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("mode=parallel%d/impl=%s", par, impl.name), func(b *testing.B) {
				s := impl.new()
				defer s.stop()
				b.SetParallelism(par)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					done := make(chan struct{}, 1)
					t := func() { done <- struct{}{} }
					for pb.Next() {
						if err := s.Submit(t); err != nil {
							b.Error(err)
							return
						}
						<-done
					}
				})
			})
		}
	}
	for _, impl := range impls {
		b.Run("mode=burst/impl="+impl.name, func(b *testing.B) {
			const burst = 1024
			s := impl.new()
			defer s.stop()
			var left atomic.Int64
			done := make(chan struct{})
			t := func() {
				if left.Add(-1) == 0 {
					done <- struct{}{}
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				left.Store(burst)
				for range burst {
					if err := s.Submit(t); err != nil {
						b.Fatal(err)
					}
				}
				<-done
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*burst), "ns/task")
		})
	}
}
