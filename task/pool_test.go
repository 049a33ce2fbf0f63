package task

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubmitRunsTasksInFIFOOrder(t *testing.T) {
	tests := []struct {
		name     string
		tasks    int
		holdHead bool // keep the worker busy until every task is queued
	}{
		{"one task", 1, false},
		{"worker races the submitter", 1000, false},
		{"all queued behind a busy worker", 1000, true},
		{"queue grows past its first ring", minQueueCap + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPool(t, 1)
			g := newGate(t, 1)
			if tt.holdHead {
				require.NoError(t, p.Submit(g.task()))
				g.await(t, 1)
			}
			var order []int // written only by the single worker
			done := make(chan struct{})
			for i := range tt.tasks {
				require.NoError(t, p.Submit(func() { order = append(order, i) }))
			}
			require.NoError(t, p.Submit(func() { close(done) }))
			g.release()
			recv(t, done, "the last task")

			want := make([]int, tt.tasks)
			for i := range want {
				want[i] = i
			}
			assert.Equal(t, want, order)
		})
	}
}

func TestRunningTasksNeverOutnumberThreads(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8, DefaultThreads} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			p := startPool(t, threads)
			g := newGate(t, 4*threads)
			var running, peak atomic.Int64
			var finished sync.WaitGroup
			finished.Add(4 * threads)
			for range 4 * threads {
				require.NoError(t, p.Submit(func() {
					defer finished.Done()
					n := running.Add(1)
					for {
						old := peak.Load()
						if n <= old || peak.CompareAndSwap(old, n) {
							break
						}
					}
					g.task()()
					running.Add(-1)
				}))
			}

			// All workers are held at the gate, so nothing else can start.
			g.await(t, threads)
			select {
			case <-g.started:
				t.Fatalf("a task started while all %d workers were busy", threads)
			default:
			}
			s := p.Stats()
			assert.Equal(t, threads, s.Running, "Stats().Running")
			assert.Equal(t, 3*threads, s.Queued, "Stats().Queued")

			g.release()
			wait(t, &finished, "every task to finish")
			assert.Equal(t, int64(threads), peak.Load(), "most tasks running at once")
		})
	}
}

func TestSubmitNeverBlocksWhenAllWorkersAreBusy(t *testing.T) {
	const threads, queued = 2, 10_000
	p := startPool(t, threads)
	g := newGate(t, threads)
	for range threads {
		require.NoError(t, p.Submit(g.task()))
	}
	g.await(t, threads)

	var ran sync.WaitGroup
	ran.Add(queued)
	submitted := make(chan error, 1)
	go func() {
		for range queued {
			if err := p.Submit(ran.Done); err != nil {
				submitted <- err
				return
			}
		}
		submitted <- nil
	}()
	// The workers are still held at the gate, so every Submit returned
	// without any worker taking a task.
	require.NoError(t, recv(t, submitted, "10k Submits with every worker busy"))
	assert.Equal(t, queued, p.Stats().Queued)

	g.release()
	wait(t, &ran, "the queued tasks")
}

func TestSubmitFromTaskChainsInOrder(t *testing.T) {
	// A Waitress channel re-queues itself from its own task when another
	// pipelined request is waiting; carhop's channels do the same.
	p := startPool(t, 2)
	const links = 100
	var got []int
	done := make(chan struct{})
	var step func(i int) func()
	step = func(i int) func() {
		return func() {
			got = append(got, i) // links run one after another, never at once
			if i == links-1 {
				close(done)
				return
			}
			if err := p.Submit(step(i + 1)); err != nil {
				panic(err)
			}
		}
	}
	require.NoError(t, p.Submit(step(0)))
	recv(t, done, "the chain of tasks")
	assert.Len(t, got, links)
	for i, v := range got {
		require.Equal(t, i, v)
	}
}

func TestPanickingTaskDoesNotKillItsWorker(t *testing.T) {
	tests := []struct {
		name      string
		task      func()
		wantMsg   string
		wantPanic string // substring of the logged panic value
	}{
		{"string", func() { panic("boom") }, "task panicked", "boom"},
		{"error", func() { panic(errors.New("bad thing")) }, "task panicked", "bad thing"},
		{"runtime error", func() { _ = index(nil, 3) }, "task panicked", "index out of range [3] with length 0"},
		{"nil", func() { panic(nil) }, "task panicked", "nil"},
		{"runtime.Goexit", func() { runtime.Goexit() }, "task called runtime.Goexit; replacing its worker", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const times = 3
			sink, logger := newLogSink()
			// One worker: each task after a panic proves it survived, or
			// for Goexit that it was replaced.
			p := startPool(t, 1, WithLogger(logger))
			for range times {
				require.NoError(t, p.Submit(tt.task))
				alive := make(chan struct{})
				require.NoError(t, p.Submit(func() { close(alive) }))
				recv(t, alive, "a task after the panic")
			}
			shutdown(t, p)

			assert.Equal(t, Stats{Threads: 1, Completed: 2 * times, Panics: times}, p.Stats())
			recs := messages(sink.records(t), tt.wantMsg)
			require.Len(t, recs, times, "log records")
			for _, r := range recs {
				assert.Equal(t, "ERROR", r["level"])
				assert.Equal(t, tt.wantMsg, r["msg"])
				if tt.wantPanic != "" {
					assert.Contains(t, r["panic"], tt.wantPanic)
				}
				assert.Contains(t, r["stack"], "goroutine", "the stack of the task")
				assert.Contains(t, r["stack"], "TestPanickingTaskDoesNotKillItsWorker", "the stack of the task")
			}
		})
	}
}

func index(s []int, i int) int { return s[i] }

func TestShutdownFinishesQueuedAndRunningTasks(t *testing.T) {
	for _, threads := range []int{1, 4} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			p := startPool(t, threads)
			g := newGate(t, threads)
			for range threads {
				require.NoError(t, p.Submit(g.task()))
			}
			g.await(t, threads)
			var accepted, ran atomic.Int64
			count := func() { ran.Add(1) }
			for range 50 {
				require.NoError(t, p.Submit(count))
				accepted.Add(1)
			}

			result := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
				defer cancel()
				result <- p.Shutdown(ctx)
			}()
			// Submit until Shutdown has begun; whatever was still accepted
			// must run too.
			deadline := time.Now().Add(waitLimit)
			for {
				err := p.Submit(count)
				if err != nil {
					require.ErrorIs(t, err, ErrClosed)
					break
				}
				accepted.Add(1)
				require.True(t, time.Now().Before(deadline), "Submit still accepts tasks after Shutdown")
				runtime.Gosched()
			}
			select {
			case err := <-result:
				t.Fatalf("Shutdown returned %v while tasks were running", err)
			default:
			}

			g.release()
			require.NoError(t, recv(t, result, "Shutdown"))
			assert.Equal(t, accepted.Load(), ran.Load(), "tasks run")
			assert.Equal(t, Stats{Threads: threads, Completed: uint64(threads) + uint64(accepted.Load())}, p.Stats())
		})
	}
}

func TestShutdownWhoseContextEndsDropsQueuedTasks(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline already passed", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}, context.DeadlineExceeded},
		{"deadline passes while waiting", func() (context.Context, context.CancelFunc) {
			// The gate holds the tasks however long this takes.
			return context.WithTimeout(context.Background(), time.Millisecond)
		}, context.DeadlineExceeded},
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const threads, queued = 2, 5
			sink, logger := newLogSink()
			p := startPool(t, threads, WithLogger(logger))
			g := newGate(t, threads)
			for range threads {
				require.NoError(t, p.Submit(g.task()))
			}
			g.await(t, threads)
			var ran atomic.Int64
			for range queued {
				require.NoError(t, p.Submit(func() { ran.Add(1) }))
			}

			ctx, cancel := tt.ctx()
			defer cancel()
			err := p.Shutdown(ctx)
			require.ErrorIs(t, err, tt.want)
			require.ErrorIs(t, p.Submit(func() {}), ErrClosed)
			assert.Equal(t, Stats{Threads: threads, Running: threads, Dropped: queued}, p.Stats())

			dropped := messages(sink.records(t), "task pool dropped queued tasks")
			require.Len(t, dropped, 1)
			assert.Equal(t, "WARN", dropped[0]["level"])
			assert.InDelta(t, queued, dropped[0]["dropped"], 0)

			// The running tasks finish in the background; a second Shutdown
			// waits for them.
			g.release()
			shutdown(t, p)
			assert.Zero(t, ran.Load(), "dropped tasks must not run")
			assert.Equal(t, Stats{Threads: threads, Completed: threads, Dropped: queued}, p.Stats())
		})
	}
}

func TestCloseDropsQueuedTasksWithoutWaiting(t *testing.T) {
	const threads, queued = 2, 7
	p := startPool(t, threads)
	g := newGate(t, threads)
	for range threads {
		require.NoError(t, p.Submit(g.task()))
	}
	g.await(t, threads)
	var ran atomic.Int64
	for range queued {
		require.NoError(t, p.Submit(func() { ran.Add(1) }))
	}

	require.NoError(t, p.Close())
	// Close returned while both tasks are still held at the gate.
	assert.Equal(t, Stats{Threads: threads, Running: threads, Dropped: queued}, p.Stats())
	require.ErrorIs(t, p.Submit(func() {}), ErrClosed)
	require.NoError(t, p.Close(), "second Close")

	g.release()
	shutdown(t, p)
	assert.Zero(t, ran.Load(), "dropped tasks must not run")
	assert.Equal(t, Stats{Threads: threads, Completed: threads, Dropped: queued}, p.Stats())
}

func TestCloseFromTask(t *testing.T) {
	p := startPool(t, 1)
	closed := make(chan error, 1)
	require.NoError(t, p.Submit(func() { closed <- p.Close() }))
	require.NoError(t, recv(t, closed, "Close from a task"))
	shutdown(t, p)
	assert.Equal(t, Stats{Threads: 1, Completed: 1}, p.Stats())
}

func TestShutdownAndCloseAreSafeConcurrently(t *testing.T) {
	const submitters = 8
	p := startPool(t, 4)
	var accepted, ran atomic.Uint64
	var started, stopped sync.WaitGroup
	started.Add(submitters)
	for range submitters {
		stopped.Go(func() {
			first := true
			for p.Submit(func() { ran.Add(1) }) == nil {
				accepted.Add(1)
				if first {
					started.Done()
					first = false
				}
				runtime.Gosched()
			}
			if first {
				started.Done()
			}
		})
	}
	wait(t, &started, "the submitters")

	errs := make(chan error, 6)
	var closers sync.WaitGroup
	for i := range cap(errs) {
		closers.Go(func() {
			if i%2 == 0 {
				errs <- p.Close()
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			errs <- p.Shutdown(ctx)
		})
	}
	wait(t, &closers, "Shutdown and Close")
	wait(t, &stopped, "the submitters to see ErrClosed")
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	shutdown(t, p)

	s := p.Stats()
	assert.Equal(t, accepted.Load(), s.Completed+s.Dropped, "every accepted task ran or was dropped")
	assert.Equal(t, ran.Load(), s.Completed)
	assert.Zero(t, s.Queued)
	assert.Zero(t, s.Running)
}

func TestSubmitNilPanics(t *testing.T) {
	p := startPool(t, 1)
	assert.PanicsWithValue(t, "task: Submit of a nil task", func() { _ = p.Submit(nil) })
}

func TestSubmitDoesNotAllocateOnceWarm(t *testing.T) {
	// An hour between warnings keeps the warner's timer out of the count.
	p := startPool(t, 2, WithQueueWarnInterval(time.Hour))
	done := make(chan struct{})
	signal := func() { done <- struct{}{} }
	held, release := make(chan struct{}), make(chan struct{})
	hold := func() {
		held <- struct{}{}
		<-release
	}
	const backlog = 100
	cycle := func() {
		// A hand-off to an idle worker.
		_ = p.Submit(signal)
		<-done
		// A backlog behind both workers, filling and draining the ring.
		_ = p.Submit(hold)
		_ = p.Submit(hold)
		<-held
		<-held
		for range backlog {
			_ = p.Submit(signal)
		}
		release <- struct{}{}
		release <- struct{}{}
		for range backlog {
			<-done
		}
	}
	cycle() // grows the ring to its peak and raises the one warning
	// The cycle's waits cannot carry timeouts without allocating, so the
	// whole measurement gets one.
	allocs := make(chan float64, 1)
	go func() { allocs <- testing.AllocsPerRun(20, cycle) }()
	assert.Zero(t, recv(t, allocs, "the measured Submits"))
}
