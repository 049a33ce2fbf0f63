// Package clock is a coarse wall clock for the per-request paths (activity
// stamps, the Date header), where time.Now's cost shows in profiles. The
// event loop's ticker sets it every few milliseconds; until the first tick
// it falls back to time.Now.
package clock

import (
	"sync/atomic"
	"time"
)

var now atomic.Int64

// Now returns the time of the last tick, in Unix nanoseconds.
func Now() int64 {
	if n := now.Load(); n != 0 {
		return n
	}
	return time.Now().UnixNano()
}

// Tick sets the clock; the loop's ticker calls it.
func Tick(t time.Time) { now.Store(t.UnixNano()) }
