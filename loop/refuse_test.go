package loop

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel"
)

// TestRefusalLingersThenCloses: a connection over the limit reads the 503
// and end of file at once, and the server, which has kept reading
// (discarding) meanwhile, closes it after Linger though the client never
// closes its side.
func TestRefusalLingersThenCloses(t *testing.T) {
	cfg := Config{
		Loops:           1,
		Addrs:           []string{"tcp://127.0.0.1:0"},
		ConnectionLimit: 1,
		CleanupInterval: 20 * time.Millisecond,
		Channel:         channel.Config{Linger: 2 * time.Second}, // long enough to be seen lingering on a loaded machine
	}
	s, ran := runServer(t, cfg)
	t.Cleanup(func() {
		require.NoError(t, s.Stop(context.Background()))
		require.NoError(t, <-ran)
	})
	lingering := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.refusals)
	}

	addr := s.Addrs()[0].String()
	first, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer first.Close()
	require.Eventually(t, func() bool { return s.Open() == 1 }, 5*time.Second, time.Millisecond)

	over, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer over.Close()
	require.NoError(t, over.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = over.Write([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	require.NoError(t, err)
	got, err := io.ReadAll(over)
	require.NoError(t, err, "the server's side is shut for writing: end of file")
	assert.Equal(t, string(unavailable), string(got))
	assert.Equal(t, 1, lingering(), "the refused connection lingers")
	assert.Equal(t, int64(1), s.Open(), "a refusal is not an open connection")

	require.Eventually(t, func() bool { return lingering() == 0 }, 5*time.Second, 5*time.Millisecond,
		"closed after Linger")
	require.Eventually(t, func() bool {
		_, err := over.Write([]byte("x"))
		return err != nil
	}, 5*time.Second, 5*time.Millisecond, "the socket is closed: writes are reset")
}

// TestRegistrySweep: closed channels leave the registry at the ticker's
// next sweep, and a sweep keeps every open one.
func TestRegistrySweep(t *testing.T) {
	s, ran := runServer(t, Config{Loops: 1, Addrs: []string{"tcp://127.0.0.1:0"}, CleanupInterval: time.Hour})
	t.Cleanup(func() {
		require.NoError(t, s.Stop(context.Background()))
		require.NoError(t, <-ran)
	})
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", s.Addrs()[0].String())
		require.NoError(t, err)
		defer c.Close()
		conns = append(conns, c)
	}
	require.Eventually(t, func() bool { return s.Open() == 3 }, 5*time.Second, time.Millisecond)
	require.NoError(t, conns[1].Close())
	require.Eventually(t, func() bool { return s.Open() == 2 }, 5*time.Second, time.Millisecond)

	s.mu.Lock()
	assert.Len(t, s.fresh, 2, "the closed connection is no longer fresh")
	s.mu.Unlock()
	assert.Equal(t, 2, swept(s))
	s.mu.Lock()
	assert.Len(t, s.channels, 2, "the sweep dropped the closed channel")
	s.mu.Unlock()
}

// swept sweeps s's registry and returns how many open channels it visited.
func swept(s *Server) int {
	n := 0
	s.sweep(func(*channel.Channel) { n++ })
	return n
}

// TestConcurrentSweeps: the ticker and a drain sweep at the same time
// while connections come and go, more of them than a sweep takes in one
// batch; the registry ends with exactly the open channels.
func TestConcurrentSweeps(t *testing.T) {
	s, ran := runServer(t, Config{Loops: 2, Addrs: []string{"tcp://127.0.0.1:0"}, CleanupInterval: time.Millisecond})
	t.Cleanup(func() {
		require.NoError(t, s.Stop(context.Background()))
		require.NoError(t, <-ran)
	})
	done := make(chan struct{})
	sweeping := make(chan struct{})
	go func() {
		defer close(sweeping)
		for {
			select {
			case <-done:
				return
			default:
				swept(s)
			}
		}
	}()
	var keep []net.Conn
	for i := range 2*sweepBatch + 100 {
		c, err := net.Dial("tcp", s.Addrs()[0].String())
		require.NoError(t, err)
		if i%2 == 0 {
			require.NoError(t, c.Close())
			continue
		}
		defer c.Close()
		keep = append(keep, c)
	}
	require.Eventually(t, func() bool { return s.Open() == int64(len(keep)) }, 5*time.Second, time.Millisecond)
	close(done)
	<-sweeping
	// Open can reach len(keep) while gnet has yet to open some
	// connections and to close others: wait for the registry to settle.
	// A sweep that loses an open channel, or keeps a closed one, never
	// lets it.
	require.Eventually(t, func() bool {
		n := swept(s)
		s.mu.Lock()
		defer s.mu.Unlock()
		return n == len(keep) && len(s.channels) == len(keep)
	}, 5*time.Second, time.Millisecond)

	// A server holding idle connections makes no garbage per connection
	// each time it sweeps them (a copy of the registry did: its heap grew
	// while it had nothing to do).
	assert.Zero(t, testing.AllocsPerRun(5, func() { swept(s) }))
}

// TestSpecificLocalAddr: which addresses gnet reports for an accepted
// connection can stand for the one the client reached without asking the
// kernel (getsockname).
func TestSpecificLocalAddr(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, true},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, true},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, false},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, false},
		{&net.TCPAddr{Port: 8080}, false},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, false},
		{&net.UnixAddr{Name: "/run/app.sock", Net: "unix"}, false},
		{nil, false},
	} {
		assert.Equal(t, tc.want, specific(tc.addr), "%v", tc.addr)
	}
}

// Every connection costs one link besides gnet's own state: past 96
// bytes it moves up a size class (docs/performance.md, memory per idle
// connection).
func TestLinkFitsItsSizeClass(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(link{}), uintptr(96))
}
