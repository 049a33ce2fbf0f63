package adapter

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/internal/syncbuf"
)

// longLived serves /plain at once and, on any other path, a handler that
// runs until its client leaves: a websocket (/ws), or server-sent events
// flushed through http.Flusher (/events) or http.ResponseController
// (/controller).
func longLived(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/plain":
		_, _ = io.WriteString(w, "plain")
	case "/ws":
		up := websocket.Upgrader{}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.WriteMessage(websocket.TextMessage, []byte("hello"))
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	case "/events", "/controller":
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: hello\n\n")
		if r.URL.Path == "/events" {
			w.(http.Flusher).Flush()
		} else if err := http.NewResponseController(w).Flush(); err != nil {
			return
		}
		<-r.Context().Done()
	}
}

// openStream starts a long-lived request on path and returns once the
// handler has said hello, with a function that makes the client leave.
func openStream(t *testing.T, addr, path string) (leave func()) {
	t.Helper()
	if path == "/ws" {
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
		ws, resp, err := d.Dial("ws://"+addr+path, nil)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, ws.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, msg, err := ws.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "hello", string(msg))
		return func() { _ = ws.Close() }
	}
	c := dial(t, addr)
	c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(c.r, &http.Request{Method: http.MethodGet})
	require.NoError(t, err)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	got := make([]byte, len("data: hello\n\n"))
	_, err = io.ReadFull(resp.Body, got)
	require.NoError(t, err)
	require.Equal(t, "data: hello\n\n", string(got))
	return func() { _ = c.c.Close() }
}

// A handler that will run as long as its client (it hijacked the
// connection, or flushed a stream) gives its worker to the requests
// queued behind it: more of them than there are threads must not stop
// the server answering.
func TestLongLivedHandlersLeaveThePool(t *testing.T) {
	for _, path := range []string{"/ws", "/events", "/controller"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			const threads, streams = 2, 5
			s, addr := start(t, http.HandlerFunc(longLived), WithThreads(threads))
			var leave []func()
			for range streams {
				leave = append(leave, openStream(t, addr, path))
			}
			// A handler leaves after its flush, which its client may read first.
			require.Eventually(t, func() bool { return s.Stats().Tasks.Released == streams }, 10*time.Second, time.Millisecond, "the streams to leave the pool")

			for range 2 * threads {
				resp, err := client(t).Get("http://" + addr + "/plain")
				require.NoError(t, err, "a request behind %d streams with %d threads", streams, threads)
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, "plain", string(body))
			}
			st := s.Stats().Tasks
			assert.Equal(t, threads, st.Threads)
			assert.Equal(t, streams, st.Released)
			rec := httptest.NewRecorder()
			s.StatsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			assert.Contains(t, rec.Body.String(), fmt.Sprintf("\ncarhop_tasks_released %d\n", streams))

			for _, l := range leave {
				l()
			}
			require.Eventually(t, func() bool { return s.Stats().Tasks.Released == 0 }, 10*time.Second, time.Millisecond, "the streams' handlers to end")
		})
	}
}

// A handler that waits without flushing (a long poll) keeps its worker:
// the threads bound it, and a request behind it waits in the queue.
func TestWaitingHandlerKeepsItsWorker(t *testing.T) {
	unblock := make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/poll" {
			<-unblock
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}), WithThreads(1))
	poll, plain := dial(t, addr), dial(t, addr)
	poll.send("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
	require.Eventually(t, func() bool { return s.Stats().Tasks.Running == 1 }, 10*time.Second, time.Millisecond, "the poll to start")
	plain.send("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
	require.Eventually(t, func() bool { return s.Stats().Tasks.Queued == 1 }, 10*time.Second, time.Millisecond, "the plain request to queue behind the poll")
	assert.Equal(t, 0, s.Stats().Tasks.Released)
	close(unblock)
	_, body := poll.response(http.MethodGet)
	assert.Equal(t, "/poll", body)
	_, body = plain.response(http.MethodGet)
	assert.Equal(t, "/plain", body)
}

// The requests a client pipelines behind a stream are served by the
// pool's workers, not on the goroutine the stream took out of the pool:
// with the one worker busy, the next request waits for it.
func TestRequestsBehindAStreamGoBackToThePool(t *testing.T) {
	endStream, unblock := make(chan struct{}), make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			_, _ = io.WriteString(w, "streamed")
			w.(http.Flusher).Flush()
			<-endStream
		case "/poll":
			<-unblock
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}), WithThreads(1))
	stream := dial(t, addr)
	stream.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	require.Eventually(t, func() bool { return s.Stats().Tasks.Released == 1 }, 10*time.Second, time.Millisecond, "the stream to leave the pool")

	poll := dial(t, addr)
	poll.send("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
	require.Eventually(t, func() bool { return s.Stats().Tasks.Running == 1 }, 10*time.Second, time.Millisecond, "the poll to take the pool's worker")
	close(endStream)
	require.Eventually(t, func() bool { return s.Stats().Tasks.Queued == 1 }, 10*time.Second, time.Millisecond, "/next to queue for the worker")

	close(unblock)
	_, body := stream.response(http.MethodGet)
	assert.Equal(t, "streamed/stream", body)
	_, body = stream.response(http.MethodGet)
	assert.Equal(t, "/next", body)
	_, body = poll.response(http.MethodGet)
	assert.Equal(t, "/poll", body)
	require.Eventually(t, func() bool { return s.Stats().Tasks.Released == 0 }, 10*time.Second, time.Millisecond, "the stream's goroutine to end")
}

// unwrapper wraps a ResponseWriter as middleware does, with the Unwrap
// method http.ResponseController looks for.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// A long poll that calls ReleaseWorker waits beside the pool, whether its
// writer is carhop's own or wrapped, and may still choose its status
// when the wait ends.
func TestReleaseWorkerLetsALongPollWait(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		t.Run(fmt.Sprintf("wrapped %v", wrapped), func(t *testing.T) {
			event := make(chan struct{})
			s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/poll" {
					_, _ = io.WriteString(w, "plain")
					return
				}
				if wrapped {
					w = unwrapper{w}
				}
				if err := ReleaseWorker(w); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				<-event
				w.WriteHeader(http.StatusNoContent)
			}), WithThreads(1))
			polls := []*raw{dial(t, addr), dial(t, addr)}
			for _, p := range polls {
				p.send("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
			}
			require.Eventually(t, func() bool { return s.Stats().Tasks.Released == 2 }, 10*time.Second, time.Millisecond, "the polls to leave the pool")
			resp, err := client(t).Get("http://" + addr + "/plain")
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, http.StatusOK, resp.StatusCode)

			close(event)
			for _, p := range polls {
				resp, _ := p.response(http.MethodGet)
				assert.Equal(t, http.StatusNoContent, resp.StatusCode)
			}
		})
	}
}

// ReleaseWorker on another server's writer says so and does nothing.
func TestReleaseWorkerElsewhere(t *testing.T) {
	for _, w := range []http.ResponseWriter{httptest.NewRecorder(), unwrapper{httptest.NewRecorder()}} {
		err := ReleaseWorker(w)
		require.ErrorIs(t, err, http.ErrNotSupported)
		assert.Contains(t, err.Error(), "httptest.ResponseRecorder")
	}
}

// Each handler beside the pool counts against the descriptor budget, as
// if it held a descriptor of its own (a proxied websocket's backend
// connection), since the threads no longer bound them: once it is spent
// the next keeps its worker, whether it flushes or hijacks
// (ReleaseWorker says so), the server warns once, and the descriptor
// comes back when the handler returns.
func TestHandlersBesideThePoolCountAgainstDescriptors(t *testing.T) {
	for _, keptPath := range []string{"/controller", "/ws"} {
		t.Run(strings.TrimPrefix(keptPath, "/"), func(t *testing.T) {
			var logged syncbuf.Buffer
			polled := make(chan error, 1)
			s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/poll" {
					polled <- ReleaseWorker(w)
					return
				}
				longLived(w, r)
			}), WithThreads(2), WithLogger(slog.New(slog.NewTextHandler(&logged, nil))),
				func(c *config) error { c.files = buffers.NewDescriptors(1); return nil })
			poll := func() error {
				t.Helper()
				resp, err := client(t).Get("http://" + addr + "/poll")
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				select {
				case err := <-polled:
					return err
				case <-time.After(10 * time.Second):
					t.Fatal("the poll's handler did not run")
					return nil
				}
			}

			leave := openStream(t, addr, "/events")
			require.Eventually(t, func() bool { return s.Stats().Tasks.Released == 1 }, 10*time.Second, time.Millisecond, "the stream to leave the pool")
			assert.Equal(t, 1, s.Stats().OpenFiles)
			kept := openStream(t, addr, keptPath)
			// A flushing handler tries to leave after its flush has sent
			// the hello: wait for the try, or the poll below may come
			// first, and the try take the descriptor the stream gives back.
			require.Eventually(t, func() bool { return s.Stats().FilesDenied == 1 }, 10*time.Second, time.Millisecond,
				"the second long-lived handler refused the descriptor")
			require.ErrorIs(t, poll(), ErrWorkerKept)
			// The poll's worker may still be finishing its task.
			require.Eventually(t, func() bool { return s.Stats().Tasks.Running == 1 }, 10*time.Second, time.Millisecond,
				"the second long-lived handler on its worker, alone")
			st := s.Stats()
			assert.Equal(t, 1, st.Tasks.Released)
			assert.Equal(t, 1, st.OpenFiles)
			assert.Equal(t, uint64(2), st.FilesDenied)
			assert.Equal(t, 1, strings.Count(logged.String(), "descriptor budget spent"), "%s", &logged)

			leave()
			require.Eventually(t, func() bool { return s.Stats().OpenFiles == 0 }, 10*time.Second, time.Millisecond, "the stream's descriptor to come back")
			require.NoError(t, poll())
			kept()
			require.Eventually(t, func() bool { st := s.Stats().Tasks; return st.Running+st.Released == 0 }, 10*time.Second, time.Millisecond, "the handlers to end")
			assert.Equal(t, 0, s.Stats().OpenFiles)
		})
	}
}
