package loop

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/internal/tcppair"
	"github.com/carhop/carhop/parser"
)

// endedConn is gnet's Conn for a socket whose client has sent its last
// bytes and shut down its side: what OnClose sees after the EOF. in is
// the input gnet read and the channel did not parse.
type endedConn struct {
	gnet.Conn
	fd     int
	in     []byte
	remote net.Addr
}

func (c *endedConn) Write(p []byte) (int, error) {
	for n := 0; n < len(p); {
		m, err := unix.Write(c.fd, p[n:])
		if err != nil && err != unix.EAGAIN {
			return n, err
		}
		n += max(m, 0)
	}
	return len(p), nil
}
func (c *endedConn) OutboundBuffered() int         { return 0 }
func (c *endedConn) InputPending() bool            { return false }
func (c *endedConn) InboundBuffered() int          { return len(c.in) }
func (c *endedConn) Peek(int) ([]byte, error)      { return c.in, nil }
func (c *endedConn) Wake(gnet.AsyncCallback) error { return nil } // on its way, never arrives
func (c *endedConn) Close() error                  { return nil }
func (c *endedConn) Fd() int                       { return c.fd }
func (c *endedConn) Dup() (int, error)             { return unix.Dup(c.fd) }
func (c *endedConn) RemoteAddr() net.Addr          { return c.remote }

// TestOrphanAnswersUnparsedInput: when the EOF reaches the loop after a
// worker answered every parsed request but before the loop parsed the
// rest (the channel's wake-up still on its way), the connection goes to
// an orphan that answers the rest, rather than closing with requests
// unanswered.
func TestOrphanAnswersUnparsedInput(t *testing.T) {
	client, server := tcppair.New(t)
	require.NoError(t, client.SetDeadline(time.Now().Add(10*time.Second)))
	fd := -1
	raw, err := server.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, raw.Control(func(d uintptr) { fd = int(d) }))

	// Workers start only once the loop has parsed what it will: a worker
	// answering the first request while the loop still parses would free
	// a pipeline slot and let the third request in.
	parsed := make(chan struct{})
	s := New(Config{Channel: channel.Config{
		MaxPipelined: 2,
		NewRequest:   func(*channel.Channel, *parser.Request) (*channel.Request, error) { return &channel.Request{}, nil },
		Serve: plainServe(func(ch *channel.Channel, _ *channel.Request) {
			_ = ch.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"), 0)
			ch.Finish(true)
		}),
		ErrorResponse: func(int, string) []byte { return []byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n") },
		Submit: func(task interface{ Run() }) error {
			go func() { <-parsed; task.Run() }()
			return nil
		},
	}})
	in := []byte(strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3))
	c := &endedConn{fd: fd, remote: client.LocalAddr()}
	k := &link{c: c}
	k.ch.Init(&channel.Site{Config: s.ch}, k)
	n := k.ch.Received(in)
	close(parsed)
	c.in = in[n:]
	require.NotEmpty(t, c.in, "the third request waits unparsed (MaxPipelined 2)")
	require.Eventually(t, func() bool { k.ch.Pump(); return !k.ch.Owes(false) }, 5*time.Second, time.Millisecond,
		"the worker answers the parsed requests and the loop sends them")
	r := bufio.NewReader(client)
	for i := range 2 {
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err, "response %d", i)
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	}

	require.True(t, s.outlive(c, &k.ch, io.EOF), "the unparsed request is owed")
	require.NoError(t, server.Close()) // gnet closes its descriptor after OnClose; the orphan has its own
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err, "the orphan answers the third request")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	_, err = r.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "and closes once every complete request is answered")
	s.orphaned.Wait()
}
