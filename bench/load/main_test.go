package load

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait in these tests.
const waitTimeout = 10 * time.Second

// rawServer accepts connections on 127.0.0.1:0 and runs handle on each in
// its own goroutine. Cleanup closes the listener and every connection and
// waits for the handlers.
type rawServer struct {
	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

func newRawServer(tb testing.TB, handle func(c net.Conn, br *bufio.Reader)) *rawServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	s := &rawServer{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Go(func() {
				defer func() {
					_ = c.Close()
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
				}()
				handle(c, bufio.NewReader(c))
			})
		}
	})
	tb.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

// open is how many connections the server has not closed yet.
func (s *rawServer) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// readHead reads one request head, up to and including the empty line.
func readHead(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			return nil
		}
	}
}

// serveCanned answers every request on the connection with resp; if
// closeAfter, it closes the connection after the first one.
func serveCanned(resp string, closeAfter bool) func(net.Conn, *bufio.Reader) {
	b := []byte(resp)
	return func(c net.Conn, br *bufio.Reader) {
		for {
			if readHead(br) != nil {
				return
			}
			if _, err := c.Write(b); err != nil || closeAfter {
				return
			}
		}
	}
}

// eventually polls cond every few milliseconds for at most waitTimeout.
func eventually(tb testing.TB, cond func() bool, msg string) {
	tb.Helper()
	require.Eventually(tb, cond, waitTimeout, 5*time.Millisecond, msg)
}
