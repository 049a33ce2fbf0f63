package reliability

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Clients that stay as long as they like, event streams and websockets,
// many times more than there are threads. The exact claims: each is
// served at once (it gets its first event or message) and goes on being
// served; a normal client is served throughout; the streams count in
// Tasks.Released, not against the threads; when the clients leave, every
// handler returns. A normal client's latency with and without them is
// logged, never asserted.
func TestStreamsAndWebsocketsDoNotStarveRequests(t *testing.T) {
	streams, sockets := 1000, 200
	if testing.Short() {
		streams, sockets = 100, 20
	}
	raiseNoFile(t, uint64(2*(streams+sockets)+1000))
	const tick = time.Second
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			for {
				if _, err := io.WriteString(w, "data: tick\n\n"); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(tick):
				}
			}
		case "/ws":
			up := websocket.Upgrader{}
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer conn.Close()
			for {
				typ, msg, err := conn.ReadMessage()
				if err != nil {
					return
				}
				if err := conn.WriteMessage(typ, msg); err != nil {
					return
				}
			}
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	s := start(t, h) // four threads
	before := normalLatencies(t, s.addr, 200)

	events := make([]*bufio.Reader, 0, streams)
	var conns []net.Conn
	for range streams {
		c := dial(t, s.addr)
		conns = append(conns, c)
		_, err := io.WriteString(c, "GET /events HTTP/1.1\r\nHost: h\r\n\r\n")
		require.NoError(t, err)
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		events = append(events, bufio.NewReader(resp.Body))
		nextEvent(t, events[len(events)-1])
	}
	ws := make([]*websocket.Conn, 0, sockets)
	for range sockets {
		d := websocket.Dialer{NetDial: func(_, addr string) (net.Conn, error) { return dial(t, addr), nil }}
		conn, resp, err := d.Dial("ws://"+s.addr+"/ws", nil)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		ws = append(ws, conn)
		echo(t, conn, "hello")
	}
	require.Eventually(t, func() bool { return s.Stats().Tasks.Released == streams+sockets }, 10*time.Second, 10*time.Millisecond,
		"every stream and websocket out of the pool")

	during := normalLatencies(t, s.addr, 200)
	st := s.Stats().Tasks
	assert.Equal(t, 4, st.Threads)
	assert.LessOrEqual(t, st.Running, st.Threads)
	// The streams go on: the last opened and the first, a tick later.
	nextEvent(t, events[0])
	nextEvent(t, events[len(events)-1])
	echo(t, ws[0], "still there")

	for _, conn := range ws {
		_ = conn.Close()
	}
	for _, c := range conns {
		_ = c.Close()
	}
	require.Eventually(t, func() bool {
		st := s.Stats()
		return st.Tasks.Released == 0 && st.Connections == 0
	}, 20*time.Second, 10*time.Millisecond, "every handler returned, every connection closed")
	t.Logf("normal client p99 %v alone, %v beside %d event streams and %d websockets on %d threads (median %v, %v)",
		percentile(before, 99), percentile(during, 99), streams, sockets, st.Threads, percentile(before, 50), percentile(during, 50))
}

// nextEvent reads one server-sent event.
func nextEvent(t *testing.T, r *bufio.Reader) {
	t.Helper()
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "data: tick\n", line)
	blank, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "\n", blank)
}

// echo sends msg over conn and checks that it comes back.
func echo(t *testing.T, conn *websocket.Conn, msg string) {
	t.Helper()
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte(msg)))
	_, got, err := conn.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, msg, string(got))
}
