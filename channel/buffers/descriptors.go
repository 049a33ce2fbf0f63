package buffers

import (
	"errors"
	"sync/atomic"
)

// ErrNoDescriptor is wrapped, with ErrSpill, by a Write that needed a new
// temporary file when the buffer's Descriptors were all in use. Unlike
// other spill failures it is not sticky: the bytes Write reports stored
// are queued, and a later Write succeeds once the buffer has room in
// memory again or a descriptor has been given back.
var ErrNoDescriptor = errors.New("carhop/buffers: descriptor budget spent")

// Descriptors bounds the files that the buffers sharing it hold open at
// once, temporary files and regions (AppendFile) alike, and whatever else
// its users Take a descriptor for.
//
// A server has to keep descriptors for what it cannot do without. Under
// gnet, an accept that fails for want of a descriptor (EMFILE) stops the
// whole engine, every connection with it, so the descriptors a buffer
// may take, for as long as slow clients like, must leave room for the
// connections the server admits. The budget is that room's complement:
// a buffer past it keeps bytes in memory instead (Write fails with
// ErrNoDescriptor, and its caller waits for the client), and a region is
// refused (the caller copies the bytes). A nil *Descriptors is no bound.
type Descriptors struct {
	open   atomic.Int64
	limit  int64
	denied atomic.Uint64
}

// NewDescriptors returns a budget of limit open files; limit ≤ 0 allows
// none.
func NewDescriptors(limit int) *Descriptors {
	return &Descriptors{limit: int64(max(limit, 0))}
}

// Limit is the number of files the budget allows open at once.
func (d *Descriptors) Limit() int { return int(d.limit) }

// Open is the number of files held now.
func (d *Descriptors) Open() int { return int(d.open.Load()) }

// Denied counts the files refused because the budget was spent.
func (d *Descriptors) Denied() uint64 { return d.denied.Load() }

// Take reserves one descriptor, reporting false (and counting it in
// Denied) when the budget is spent. A nil budget always gives. The
// buffers take one for each file they hold; a caller takes one for
// anything else the budget should count, and gives it back with Give.
func (d *Descriptors) Take() bool {
	if d == nil {
		return true
	}
	if d.open.Add(1) > d.limit {
		d.open.Add(-1)
		d.denied.Add(1)
		return false
	}
	return true
}

// Give returns a descriptor reserved with Take.
func (d *Descriptors) Give() {
	if d != nil {
		d.open.Add(-1)
	}
}
