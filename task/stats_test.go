package task

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsAfterTasksFinish(t *testing.T) {
	tests := []struct {
		threads, wantThreads int
		tasks                int
	}{
		{0, DefaultThreads, 10},
		{-3, DefaultThreads, 0},
		{1, 1, 100},
		{5, 5, 1000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("threads=%d/tasks=%d", tt.threads, tt.tasks), func(t *testing.T) {
			p := startPool(t, tt.threads)
			assert.Equal(t, Stats{Threads: tt.wantThreads}, p.Stats(), "a new pool")
			var wg sync.WaitGroup
			wg.Add(tt.tasks)
			for range tt.tasks {
				require.NoError(t, p.Submit(wg.Done))
			}
			wait(t, &wg, "the tasks")
			shutdown(t, p)
			assert.Equal(t, Stats{Threads: tt.wantThreads, Completed: uint64(tt.tasks)}, p.Stats())
		})
	}
}

// Stats promises that an accepted task is always counted somewhere, even
// while it moves from the queue to a worker and on to Completed.
func TestStatsNeverMissesAnAcceptedTask(t *testing.T) {
	p := startPool(t, 2)
	var accepted atomic.Uint64
	stop := make(chan struct{})
	var submitters sync.WaitGroup
	for range 4 {
		submitters.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p.Submit(func() {}) == nil {
					accepted.Add(1)
				}
			}
		})
	}
	for range 20_000 {
		want := accepted.Load()
		s := p.Stats()
		got := uint64(s.Queued) + uint64(s.Running) + s.Completed + s.Dropped
		if got < want {
			close(stop)
			submitters.Wait()
			t.Fatalf("Stats %+v counts %d tasks, but %d were accepted before it was read", s, got, want)
		}
	}
	close(stop)
	wait(t, &submitters, "the submitters")
}
