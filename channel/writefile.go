package channel

import (
	"fmt"
	"syscall"
	"time"
)

// WriteFile queues n bytes of the file f (an *os.File, or the wrapper of
// one that os.File.WriteTo hands io.Copy), from offset off, as response
// output that
// the loop sends straight from the file (sendfile), rather than through
// memory and, for a slow client, a temporary file. The channel takes a
// duplicate of f's descriptor, so the caller may close f at once and the
// worker does not wait for the client: a download of a static file holds
// neither a worker nor memory nor disk of ours. f must be a regular file
// that holds those bytes and that nothing truncates meanwhile (a short
// file ends the connection when the loop reaches it). more and deadline
// are Write's, and WriteFile pauses where Write would at the high
// watermark. It reports false, leaving the bytes to the caller's Write,
// when the output queues as many files as it may or the descriptor
// cannot be duplicated. Worker only.
func (ch *Channel) WriteFile(f syscall.Conn, off, n, more int64, deadline time.Time) (bool, error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if err := ch.waitRoom(0, more, deadline); err != nil {
		return false, err
	}
	if is(ch.state, closed) {
		return false, ErrClosed
	}
	dup, err := dupFile(f)
	if err != nil {
		return false, nil //nolint:nilerr // out of descriptors, say: the bytes can still be written
	}
	if ch.out == nil {
		ch.out = ch.site.pools.output()
	}
	ok, err := ch.out.AppendFile(dup, off, n)
	if !ok {
		_ = dup.Close()
		if err != nil {
			return false, fmt.Errorf("carhop: buffering response: %w", err)
		}
		return false, nil
	}
	ch.site.Counters.FilesSent.Add(1)
	ch.wakeLocked()
	return true, nil
}
