// Package clock is a coarse wall clock for the per-request paths (activity
// stamps, the Date header), where time.Now's cost shows in profiles. Each
// running event-loop server keeps it fresh from its ticker (every few
// milliseconds); while no server runs, Now falls back to time.Now, so a
// server starting later never reads a stale time.
package clock

import (
	"sync/atomic"
	"time"
)

var (
	now   atomic.Int64
	users atomic.Int64
)

// Now returns the time of the last tick, in Unix nanoseconds.
func Now() int64 {
	if n := now.Load(); n != 0 {
		return n
	}
	return time.Now().UnixNano()
}

// Start registers a server that will Tick the clock, and sets it now.
func Start() {
	users.Add(1)
	Tick(time.Now())
}

// Stop unregisters a server; when none is left the clock stops being used.
func Stop() {
	if users.Add(-1) == 0 {
		now.Store(0)
	}
}

// Tick sets the clock; a running server's ticker calls it.
func Tick(t time.Time) {
	if users.Load() > 0 {
		now.Store(t.UnixNano())
	}
}
