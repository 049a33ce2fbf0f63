package loop

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/channel"
)

// An orphan finishes a channel whose client's input ended while it owed
// responses (channel.Channel.Outlive): gnet closes a connection when it
// reads EOF, but a client that half-closed after sending its requests is
// still reading. The orphan keeps a duplicate of the socket and plays the
// loop for that one channel, on a goroutine of its own: gnet cannot take
// the socket back (it would read the EOF again and close it), and a
// goroutine that may wait for the socket is cheaper here than a poller
// of the loop's own, for connections that live only until their last
// response is out.
//
// Its Conn methods follow gnet's: Write queues what the socket does not
// take at once (out, written by the orphan's goroutine when the socket
// has room), and Wake and Close may be called from any goroutine. The
// loop's ticker still applies the channel's timeouts (the channel stays
// in the registry), and Server.Stop closes what is left.
type orphan struct {
	s      *Server
	ch     *channel.Channel
	nc     net.Conn // the duplicate, in the Go runtime's poller: flush waits on it
	rc     syscall.RawConn
	fd     int // nc's descriptor, for the channel's own writes; closed after Closed, when none can come
	remote net.Addr
	in     []byte // input gnet had read and the channel had not parsed
	out    []byte // written by Pump, not yet taken by the socket; the goroutine's alone
	wake   chan struct{}
	quit   chan struct{}
	once   sync.Once
}

// errInputEnded is CloseWrite's answer: an orphan's client has sent all
// it will, so there is nothing to linger for, and the channel closes.
var errInputEnded = errors.New("carhop: the client's input has ended")

// outlive hands ch to an orphan when gnet is closing c after reading EOF
// and ch still owes responses, and reports whether it did. Only when gnet
// holds none of ch's output: gnet's last try to write it, after OnClose,
// may send part of it, and what the orphan sent next would not follow.
func (s *Server) outlive(c gnet.Conn, ch *channel.Channel, err error) bool {
	unparsed := c.InboundBuffered() > 0
	if !errors.Is(err, io.EOF) || c.OutboundBuffered() > 0 || !ch.Owes(unparsed) {
		return false
	}
	o, err := s.newOrphan(c, ch)
	if err != nil {
		s.cfg.Logger.Warn("carhop: cannot keep a half-closed connection to answer it", "remote", c.RemoteAddr(), "err", err)
		return false
	}
	if !ch.Outlive(o, unparsed) {
		_ = o.nc.Close() // the last response went out meanwhile
		return false
	}
	s.mu.Lock()
	s.orphans[o] = struct{}{}
	s.mu.Unlock()
	s.orphaned.Add(1)
	go o.run()
	_ = o.Wake()
	return true
}

func (s *Server) newOrphan(c gnet.Conn, ch *channel.Channel) (*orphan, error) {
	dup, err := c.Dup()
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "")
	nc, err := net.FileConn(f) // a descriptor of its own, non-blocking, in the runtime's poller
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	o := &orphan{s: s, ch: ch, nc: nc, rc: rc, remote: c.RemoteAddr(),
		wake: make(chan struct{}, 1), quit: make(chan struct{})}
	if err := rc.Control(func(fd uintptr) { o.fd = int(fd) }); err != nil {
		_ = nc.Close()
		return nil, err
	}
	if in, _ := c.Peek(-1); len(in) > 0 {
		o.in = bytes.Clone(in) // gnet releases its buffer after OnClose
	}
	return o, nil
}

// run serves the channel until it closes: on each wake-up, parse what
// input is left and pump, waiting for the socket whenever it is full.
func (o *orphan) run() {
	defer o.end()
	for {
		select {
		case <-o.quit:
			return
		case <-o.wake:
		}
		for {
			if n := o.ch.Received(o.in); n > 0 {
				o.in = o.in[n:]
				o.s.ch.Counters.BytesIn.Add(uint64(n))
			}
			o.ch.Pump()
			if len(o.out) == 0 {
				break
			}
			if err := o.flush(); err != nil {
				_ = o.Close()
				break
			}
		}
	}
}

// flush waits until the socket takes some of out and writes what it
// takes. Close ends the wait.
func (o *orphan) flush() error {
	var werr error
	err := o.rc.Write(func(fd uintptr) bool {
		n, err := unix.Write(int(fd), o.out)
		if errors.Is(err, unix.EAGAIN) {
			return false // wait for room
		}
		if err != nil {
			werr = err
			return true
		}
		o.out = o.out[:copy(o.out, o.out[n:])]
		return true
	})
	if err != nil {
		return err
	}
	return werr
}

// end closes the channel and then the descriptor: Closed keeps workers
// from writing to it (TryWrite) before it is gone.
func (o *orphan) end() {
	o.ch.Closed()
	_ = o.nc.Close()
	s := o.s
	s.mu.Lock()
	delete(s.orphans, o)
	s.unpoll(o.ch)
	s.mu.Unlock()
	s.open.Add(-1)
	s.orphaned.Done()
}

func (o *orphan) Write(p []byte) (int, error) {
	o.out = append(o.out, p...)
	return len(p), nil
}

func (o *orphan) OutboundBuffered() int { return len(o.out) }

func (o *orphan) Wake() error {
	select {
	case <-o.quit:
		return net.ErrClosed
	default:
	}
	select {
	case o.wake <- struct{}{}:
	default: // one is pending
	}
	return nil
}

func (o *orphan) Close() error {
	o.once.Do(func() {
		close(o.quit)
		_ = o.nc.SetWriteDeadline(time.Unix(1, 0)) // ends a flush waiting for the client
	})
	return nil
}

func (o *orphan) CloseWrite() error                   { return errInputEnded }
func (o *orphan) TryWrite(pre, p []byte) (int, error) { return tryWrite(o.fd, pre, p) }
func (o *orphan) RemoteAddr() net.Addr                { return o.remote }

// InputPending is false: an orphan's client has sent all it will (and its
// channel is ended, which a drain closes without asking).
func (o *orphan) InputPending() bool { return false }

func (o *orphan) SendFile(f *os.File, off int64, n int64) (int, error) {
	return sendFile(o.fd, f, off, n)
}

// closeOrphans closes every orphan and waits for their goroutines: the
// engine has stopped, and with it the ticker that would time them out.
func (s *Server) closeOrphans() {
	s.mu.Lock()
	for o := range s.orphans {
		_ = o.Close()
	}
	s.mu.Unlock()
	s.orphaned.Wait()
}
