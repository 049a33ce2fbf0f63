package task

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestQueueDepthWarning(t *testing.T) {
	// The tests run in a synctest bubble: its clock moves only when every
	// goroutine in it is blocked, so "an interval later" is exact and
	// synctest.Wait tells when the warner has written what it will write.
	type burst struct {
		after   time.Duration // fake time to let pass first
		submits int           // tasks submitted, one synctest.Wait apart
	}
	tests := []struct {
		name      string
		threads   int
		busy      int // workers held busy before the bursts
		interval  time.Duration
		bursts    []burst
		wantDepth []int64 // depth of each warning, in order
	}{
		{"idle workers take every task", 4, 0, 0, []burst{{0, 4}}, nil},
		{"once per interval", 1, 1, time.Hour, []burst{{0, 10}}, []int64{1}},
		{"default interval", 1, 1, DefaultQueueWarnInterval, []burst{{0, 10}}, []int64{1}},
		{"again after the interval", 2, 2, time.Second, []burst{{0, 3}, {999 * time.Millisecond, 3}, {2 * time.Millisecond, 1}, {0, 2}}, []int64{1, 7}},
		{"zero interval warns on every Submit", 1, 1, 0, []burst{{0, 4}}, []int64{1, 2, 3, 4}},
		{"negative interval turns it off", 1, 1, -1, []burst{{0, 10}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			synctest.Test(t, func(t *testing.T) {
				sink, logger := newLogSink()
				p := New(tt.threads, WithLogger(logger), WithQueueWarnInterval(tt.interval))
				release := make(chan struct{})
				for range tt.busy {
					require.NoError(t, p.Submit(func() { <-release }))
				}
				for _, b := range tt.bursts {
					time.Sleep(b.after)
					for range b.submits {
						require.NoError(t, p.Submit(func() { <-release }))
						synctest.Wait()
					}
				}
				close(release)
				require.NoError(t, p.Shutdown(context.Background()))

				var depths []int64
				for _, r := range messages(sink.records(t), "task queue depth") {
					assert.Equal(t, "WARN", r["level"])
					assert.InDelta(t, tt.threads, r["threads"], 0)
					depths = append(depths, int64(r["depth"].(float64)))
				}
				assert.Equal(t, tt.wantDepth, depths)
			})
		})
	}
}
