package task

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// releasing is a Releaser whose body decides when to release.
type releasing func(release func())

func (r releasing) Run()                        { panic("the pool called Run on a Releaser") }
func (r releasing) RunReleasing(release func()) { r(release) }

// stream submits a task that releases, reports it, and waits at g.
func stream(t *testing.T, p *Pool, g *gate) {
	t.Helper()
	require.NoError(t, p.SubmitTask(releasing(func(release func()) {
		release()
		g.task()()
	})))
}

// Released tasks must not starve the queue behind them, however many
// there are, and the ordinary tasks must stay bounded by the threads.
func TestReleasedTasksLeaveTheirPlaces(t *testing.T) {
	tests := []struct {
		name              string
		threads, releases int
	}{
		{"one worker, one stream", 1, 1},
		{"one worker, many streams", 1, 20},
		{"more streams than workers", 3, 10},
		{"fewer streams than workers", 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPool(t, tt.threads)
			base := p.live.Load()
			g := newGate(t, tt.releases)
			for range tt.releases {
				stream(t, p, g)
			}
			g.await(t, tt.releases)
			assert.Equal(t, tt.releases, p.Stats().Released)
			assert.Zero(t, p.Stats().Running, "released tasks do not count as running")

			// Ordinary tasks still run, never more at once than threads.
			const ordinary = 50
			var now, most atomic.Int32
			var wg sync.WaitGroup
			wg.Add(ordinary)
			for range ordinary {
				require.NoError(t, p.Submit(func() {
					n := now.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(100 * time.Microsecond)
					now.Add(-1)
					wg.Done()
				}))
			}
			wait(t, &wg, "the ordinary tasks behind the released ones")
			assert.LessOrEqual(t, int(most.Load()), tt.threads, "ordinary tasks at once")
			assert.LessOrEqual(t, p.live.Load(), base+int32(tt.releases), "at most a goroutine per released task beside the workers")

			g.release()
			require.Eventually(t, func() bool { return p.live.Load() == base }, waitLimit, time.Millisecond, "the released tasks' goroutines to end")
			// The last ordinary task is counted once it has returned, a
			// moment after its wg.Done.
			want := Stats{Threads: tt.threads, Completed: uint64(tt.releases + ordinary)}
			require.Eventually(t, func() bool { return p.Stats() == want }, waitLimit, time.Millisecond, "every task counted: %+v", p.Stats())
		})
	}
}

// A released task keeps its worker until the pool needs one: a stream
// that ends before anyone waits costs no new worker.
func TestReleasedTaskLeavesOnlyWhenNeeded(t *testing.T) {
	p := startPool(t, 2)
	base := p.live.Load()
	streams := newGate(t, 1)
	stream(t, p, streams)
	streams.await(t, 1)
	assert.Equal(t, base, p.live.Load(), "no new worker while one is idle")

	// The idle worker takes the first task, the stream's place the second.
	g := newGate(t, 2)
	require.NoError(t, p.Submit(g.task()))
	require.NoError(t, p.Submit(g.task()))
	g.await(t, 2)
	assert.Equal(t, base+1, p.live.Load(), "one new worker, in the stream's place")
	assert.Equal(t, Stats{Threads: 2, Running: 2, Released: 1}, p.Stats())
	g.release()
	streams.release()
	require.Eventually(t, func() bool { return p.live.Load() == base }, waitLimit, time.Millisecond, "the stream's goroutine to end")

	// A stream that ends before its place is needed leaves its worker to
	// the pool.
	streams = newGate(t, 1)
	stream(t, p, streams)
	streams.await(t, 1)
	streams.release()
	require.Eventually(t, func() bool { return p.Stats().Completed == 4 }, waitLimit, time.Millisecond, "the stream to end")
	p.mu.Lock()
	assert.Empty(t, p.releasable, "a stream that ended in its place is off the list")
	p.mu.Unlock()
	g = newGate(t, 2)
	require.NoError(t, p.Submit(g.task()))
	require.NoError(t, p.Submit(g.task()))
	g.await(t, 2)
	assert.Equal(t, base, p.live.Load(), "both workers are the pool's own")
	g.release()
}

// Only the first release of a run counts, from whichever goroutine it
// comes; one made once the task has returned, while its worker waits for
// the next, does nothing.
func TestReleaseOnceAndOnlyWhileRunning(t *testing.T) {
	p := startPool(t, 1)
	base := p.live.Load()
	done := make(chan struct{})
	queued := newGate(t, 1)
	require.NoError(t, p.SubmitTask(releasing(func(release func()) {
		require.NoError(t, p.Submit(queued.task()))
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(release)
		}
		wg.Wait()
		release()
		queued.await(t, 1)
		assert.Equal(t, 1, p.Stats().Released)
		assert.Equal(t, base+1, p.live.Load(), "one new worker for eight releases")
		close(done)
	})))
	recv(t, done, "the releasing task")
	queued.release()
	require.Eventually(t, func() bool { return p.live.Load() == base }, waitLimit, time.Millisecond, "the released goroutine to end")

	var kept func()
	ran := make(chan struct{})
	require.NoError(t, p.SubmitTask(releasing(func(release func()) {
		kept = release
		close(ran)
	})))
	recv(t, ran, "a task that keeps its release")
	require.Eventually(t, func() bool { return p.Stats().Running == 0 }, waitLimit, time.Millisecond, "the task to finish")
	kept()
	assert.Equal(t, Stats{Threads: 1, Completed: 3}, p.Stats(), "a late release counts nothing")
	g := newGate(t, 1)
	require.NoError(t, p.Submit(g.task()))
	g.await(t, 1)
	assert.Equal(t, base, p.live.Load(), "the worker did not leave")
	g.release()
}

// A released task that panics or calls runtime.Goexit ends its goroutine;
// a new worker replaces it only if its place is still its own.
func TestReleasedTaskThatPanicsOrExits(t *testing.T) {
	for name, end := range map[string]func(){
		"panic":  func() { panic("boom") },
		"Goexit": runtime.Goexit,
	} {
		for _, placeTaken := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/place taken %v", name, placeTaken), func(t *testing.T) {
				p := startPool(t, 1)
				base := p.live.Load()
				behind := newGate(t, 1)
				require.NoError(t, p.SubmitTask(releasing(func(release func()) {
					if placeTaken {
						require.NoError(t, p.Submit(behind.task()))
					}
					release()
					if placeTaken {
						behind.await(t, 1)
					}
					end()
				})))
				require.Eventually(t, func() bool { return p.Stats().Panics == 1 }, waitLimit, time.Millisecond, "the task to end")
				behind.release()
				require.Eventually(t, func() bool { return p.live.Load() == base }, waitLimit, time.Millisecond, "the pool back at its size")
				tasks := uint64(1)
				if placeTaken {
					tasks = 2
				}
				require.Eventually(t, func() bool { return p.Stats().Completed == tasks }, waitLimit, time.Millisecond, "the tasks")
				assert.Equal(t, Stats{Threads: 1, Completed: tasks, Panics: 1}, p.Stats(), "place taken: %v", placeTaken)
				// And it still serves.
				ran := make(chan struct{})
				require.NoError(t, p.Submit(func() { close(ran) }))
				recv(t, ran, "a task after it")
			})
		}
	}
}

// Shutdown waits for released tasks too: they were submitted to the pool.
func TestShutdownWaitsForReleasedTasks(t *testing.T) {
	p := startPool(t, 1)
	g := newGate(t, 1)
	stream(t, p, g)
	g.await(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, p.Shutdown(ctx), context.DeadlineExceeded)
	g.release()
	shutdown(t, p)
	assert.Equal(t, Stats{Threads: 1, Completed: 1}, p.Stats())
}
