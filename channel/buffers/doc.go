// Package buffers stores the bytes of one connection that are waiting on
// somebody: a request body waiting for its handler, and response output
// waiting for the client to read it.
//
// Both can be large and both can wait a long time. A client may upload a
// gigabyte, or download one at a few bytes a second; if those bytes had to
// sit in RAM, a handful of slow clients would cost the server its memory,
// which is exactly what an event-loop server promises they will not. So,
// as in Waitress (whose OverflowableBuffer this follows, with its
// inbuf_overflow of 512 KB for bodies and outbuf_overflow of 1 MB for
// output), an [Overflowable] keeps bytes in memory only up to a threshold
// and spills the rest to a temporary file. Its memory is pooled chunks of
// 32 KiB, given back as they are consumed, so a draining buffer shrinks as
// it drains and its memory never exceeds the threshold plus one chunk.
//
// Temporary files are unlinked as soon as they are created wherever the OS
// allows it (everywhere but Windows): the open descriptor is the only way
// to the data, no other process can open it by name, and a crash or kill
// leaves nothing on disk. Where unlinking an open file fails the file is
// removed when it is closed. A file is closed as soon as its buffer drains,
// and a buffer that never drains moves to a fresh file once 16 MiB of the
// old one has been read, so disk use stays bounded too. Failing to create
// or write a file is reported as [ErrSpill], and the caller answers 500 or
// 503.
//
// The package owns storage only: memory chunks and temporary files. It
// does not touch sockets, parse anything, know about HTTP, or start
// goroutines. Reads never block. It does no locking: a buffer belongs to
// one connection's channel, which serializes access to it, or, once the
// request body is complete, to the one handler given its [Overflowable.Reader].
//
// Two consumers read a buffer in two styles. The event loop pumps output
// with [Overflowable.Peek], sending what the socket accepts, and
// [Overflowable.Discard]; handlers read request bodies through
// [Overflowable.Reader], an io.ReadCloser that also implements io.WriterTo.
package buffers
