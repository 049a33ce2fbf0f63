package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNoStaleTimeWithoutServers(t *testing.T) {
	Start()
	Tick(time.Unix(1000, 0))
	assert.Equal(t, time.Unix(1000, 0).UnixNano(), Now(), "a running server's tick is the time")
	Stop()
	assert.Greater(t, Now(), time.Unix(1000, 0).UnixNano(), "after the last server stops, Now is real time again")
	Tick(time.Unix(2000, 0))
	assert.NotEqual(t, time.Unix(2000, 0).UnixNano(), Now(), "ticks without a server are ignored")
}

func TestPausedClockIsRealTime(t *testing.T) {
	Start()
	defer Stop()
	Tick(time.Unix(1000, 0))
	Pause()
	assert.Greater(t, Now(), time.Unix(1000, 0).UnixNano(), "a dozing server's clock is real time")
	Tick(time.Unix(3000, 0))
	assert.Equal(t, time.Unix(3000, 0).UnixNano(), Now(), "the next tick sets it again")
}

func TestStampSince(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name  string
		from  time.Time
		after time.Duration
	}{
		{"a second", base, time.Second},
		{"nothing", base, 0},
		{"across the 32-bit wrap", time.UnixMilli(1<<32 - 500), time.Second},
		{"a day", base, 24 * time.Hour},
		{"just under the wrap", base, 49 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := StampOf(tc.from.UnixNano())
			assert.NotZero(t, s)
			assert.Equal(t, tc.after, s.Since(tc.from.Add(tc.after).UnixNano()))
		})
	}
	assert.Equal(t, Stamp(1), StampOf(time.UnixMilli(1<<32).UnixNano()), "0 means no time: the stamp moves a millisecond")
}
