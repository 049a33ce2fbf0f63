package adapter

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/internal/tcppair"
)

// TestHijackedConnectionsKeepTheirPlace: a hijacked connection has left
// the event loop but still holds a descriptor, so it keeps its place
// under the connection limit until its hijacker closes it, or, dropped
// unclosed, until the garbage collector has closed it (the sweep every
// CleanupInterval notices either); otherwise websockets could be opened
// past any limit until accepting failed.
func TestHijackedConnectionsKeepTheirPlace(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop bool // the hijacker drops the connection without closing it
	}{
		{"closed by its hijacker", false},
		{"dropped unclosed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hijacked, let := make(chan struct{}, 1), make(chan struct{})
			// A closed connection stays reachable here, so that only its
			// being closed, not its collection, can give its place back.
			var keep []net.Conn
			defer func() { keep = nil }()
			srv, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/ws" {
					hello(w, r)
					return
				}
				c, _, err := http.NewResponseController(w).Hijack()
				if !assert.NoError(t, err) {
					return
				}
				// Nothing was read past the request: the connection is the
				// *net.TCPConn itself, as net/http hands over.
				_, isTCP := c.(*net.TCPConn)
				assert.True(t, isTCP, "hijacked a %T", c)
				hijacked <- struct{}{}
				<-let
				if !tc.drop {
					assert.NoError(t, c.Close())
					keep = append(keep, c)
				}
			}), WithConnectionLimit(1), WithCleanupInterval(20*time.Millisecond))
			ws := dial(t, addr)
			ws.send("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n")
			select {
			case <-hijacked:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler did not hijack")
			}
			over := dial(t, addr)
			over.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			resp, _ := over.response(http.MethodGet)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the hijacked connection holds the only place")
			assert.Equal(t, int64(1), srv.Stats().HijackedOpen)

			close(let)
			status := 0
			for deadline := time.Now().Add(10 * time.Second); status != http.StatusOK; time.Sleep(10 * time.Millisecond) {
				require.True(t, time.Now().Before(deadline), "the place is not given back (last status %d)", status)
				if tc.drop {
					runtime.GC()
				}
				c := dial(t, addr)
				c.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
				resp, _ := c.response(http.MethodGet)
				status = resp.StatusCode
				_ = c.c.Close()
			}
			assert.Zero(t, srv.Stats().HijackedOpen)
		})
	}
}

// TestHijackedConnReadsWhatTheLoopReadFirst: the input the loop had read
// before the hand-over comes first, whether the hijacker reads or copies
// from the connection (io.Copy uses WriteTo, which *net.TCPConn has and
// would otherwise take straight from the socket).
func TestHijackedConnReadsWhatTheLoopReadFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func(c net.Conn) ([]byte, error)
	}{
		{"Read", func(c net.Conn) ([]byte, error) { return io.ReadAll(struct{ io.Reader }{c}) }},
		{"WriteTo", func(c net.Conn) ([]byte, error) {
			var b bytes.Buffer
			_, err := io.Copy(&b, c)
			return b.Bytes(), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tcppair.New(t)
			h := &hijackedTCP{TCPConn: server, prefix: unread("early ")}
			_, err := io.WriteString(client, "late")
			require.NoError(t, err)
			require.NoError(t, client.CloseWrite())
			require.NoError(t, h.SetDeadline(time.Now().Add(10*time.Second)))
			got, err := tc.read(h)
			require.NoError(t, err)
			assert.Equal(t, "early late", string(got))
			require.NoError(t, h.Close())
		})
	}
}
