// Package clock is a coarse wall clock for the per-request paths (activity
// stamps, the Date header), where time.Now's cost shows in profiles. Each
// running event-loop server keeps it fresh from its ticker: every few
// milliseconds while a poll waits, at most 50 ms apart otherwise (the
// Date header and the activity stamps need no finer). While no server
// runs, or a quiet server's ticker dozes (Pause), Now falls back to
// time.Now, so that no one reads a stale time.
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

// Pause leaves the time to time.Now until the next Tick: a server whose
// ticker dozes would otherwise let the clock go stale. Another running
// server's next Tick sets it again.
func Pause() { now.Store(0) }

// Tick sets the clock; a running server's ticker calls it.
func Tick(t time.Time) {
	if users.Load() > 0 {
		now.Store(t.UnixNano())
	}
}

// Stamp is a point in time small enough for a field of every connection:
// Unix milliseconds, truncated to 32 bits. It wraps every 49.7 days, so
// Since is exact for spans shorter than that. It is never 0, which
// callers may use for "no time".
type Stamp uint32

// NowStamp returns the Stamp of Now.
func NowStamp() Stamp { return StampOf(Now()) }

// StampOf returns the Stamp of a time in Unix nanoseconds.
func StampOf(unixNano int64) Stamp {
	if s := Stamp(unixNano / int64(time.Millisecond)); s != 0 {
		return s
	}
	return 1
}

// Since is the time from s to the time now (Unix nanoseconds), modulo
// 49.7 days.
func (s Stamp) Since(unixNano int64) time.Duration {
	return time.Duration(uint32(StampOf(unixNano))-uint32(s)) * time.Millisecond
}

// AtomicStamp is a Stamp that goroutines may set and read at once.
type AtomicStamp struct{ v atomic.Uint32 }

// Mark sets it to NowStamp.
func (a *AtomicStamp) Mark() { a.v.Store(uint32(NowStamp())) }

// Clear sets it to 0, "no time".
func (a *AtomicStamp) Clear() { a.v.Store(0) }

// Load returns it; 0 if cleared.
func (a *AtomicStamp) Load() Stamp { return Stamp(a.v.Load()) }
