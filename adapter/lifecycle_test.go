package adapter

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/internal/queued"
)

func TestShutdownHonoursDeadline(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, c.closed(), "connections left at the deadline are closed")
	close(release) // the handler goroutine ends before the leak check
}

func TestCloseCancelsRunningHandlers(t *testing.T) {
	entered := make(chan struct{})
	ended := make(chan error, 1)
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			ended <- r.Context().Err()
		case <-time.After(15 * time.Second):
			ended <- errors.New("context never ended")
		}
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-ended, context.Canceled)
	// Whatever the handler managed to send, the connection then ends.
	_, err := io.ReadAll(c.r)
	assert.NoError(t, err, "connection closed, not timed out")
}

func TestInformationalResponses(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		_, _ = io.WriteString(w, "page")
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	hints, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	_ = hints.Body.Close()
	assert.Equal(t, http.StatusEarlyHints, hints.StatusCode)
	assert.Equal(t, "</style.css>; rel=preload; as=style", hints.Header.Get("Link"))
	resp, body := c.response("GET")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "page", body)
	assert.Empty(t, resp.Header.Get("Link"))
}

// TestShutdownAnswersPipelinedRequests: requests a client pipelined
// behind one that is running when Shutdown begins are queued requests:
// each is answered, only the last says "Connection: close", and then the
// connection closes.
func TestShutdownAnswersPipelinedRequests(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	c := dial(t, addr)
	c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	// /b and /c came in the same segment as /slow: by the time /slow's
	// handler is released and its response framed, they are queued.
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	require.Eventually(t, s.draining.Load, 5*time.Second, time.Millisecond)
	close(release)

	for _, want := range []struct {
		body  string
		close bool
	}{{"/slow", false}, {"/b", false}, {"/c", true}} {
		resp, body := c.response(http.MethodGet)
		require.NotNil(t, resp, "a response to %s", want.body)
		assert.Equal(t, want.body, body)
		assert.Equal(t, want.close, resp.Close, "Connection: close on %s", want.body)
	}
	assert.True(t, c.closed(), "closed after the last")
	require.NoError(t, <-done)
}

// TestShutdownServesWhatItsSweepTook: a connection the drain takes from
// a listener's queue is served before Shutdown returns, even when it is
// the only one (Shutdown found no connection open as it began).
func TestShutdownServesWhatItsSweepTook(t *testing.T) {
	ln := queued.Listen(t)
	s, err := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "served") }),
		WithListener(ln), WithThreads(2), WithEventLoops(1), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	<-s.Ready()

	c := dial(t, ln.Addr().String()) // queued: nothing accepts it
	require.Zero(t, s.Stats().Connections)
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	require.Eventually(t, func() bool { return s.Stats().Accepted == 1 }, 5*time.Second, time.Millisecond,
		"the drain takes the queued connection")
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, body := c.response(http.MethodGet)
	assert.Equal(t, "served", body)
	assert.True(t, resp.Close, "with Connection: close")
	assert.True(t, c.closed(), "then closed")
	require.NoError(t, <-done)
	require.ErrorIs(t, <-served, http.ErrServerClosed)
}

// A server stopped before its Serve began stops at once, as net/http's
// does: Close and Shutdown return, the listener given to it is closed, its
// workers end (TestMain's leak check), Ready closes, Shutdown runs the
// hooks, and a later Serve or Run returns http.ErrServerClosed without
// listening.
func TestStopBeforeServe(t *testing.T) {
	tests := []struct {
		name  string
		stop  func(*Server) error
		hooks int
	}{
		{"Close", (*Server).Close, 0},
		{"Shutdown", func(s *Server) error { return s.Shutdown(context.Background()) }, 1},
	}
	for _, tt := range tests {
		for _, then := range []struct {
			name string
			run  func(*Server) error
		}{{"Serve", (*Server).Serve}, {"Run", (*Server).Run}} {
			t.Run(tt.name+"/"+then.name, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				require.NoError(t, ln.(*net.TCPListener).SetDeadline(time.Now().Add(10*time.Second)))
				s, err := New(http.NotFoundHandler(), WithListener(ln), WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				hooks := make(chan struct{}, 1)
				s.RegisterOnShutdown(func() { hooks <- struct{}{} })
				assert.Zero(t, s.Stats().Connections, "Stats works before Serve")
				readied := make(chan struct{})
				go func() { <-s.Ready(); close(readied) }()

				stopped := make(chan error, 1)
				go func() { stopped <- tt.stop(s) }()
				select {
				case err := <-stopped:
					require.NoError(t, err)
				case <-time.After(10 * time.Second):
					t.Fatalf("%s before Serve did not return", tt.name)
				}
				_, err = ln.Accept()
				require.ErrorIs(t, err, net.ErrClosed, "the given listener is closed")
				select {
				case <-readied:
				case <-time.After(10 * time.Second):
					t.Fatal("Ready's waiters wait on for a Serve that will not come")
				}

				served := make(chan error, 1)
				go func() { served <- then.run(s) }()
				select {
				case err := <-served:
					require.ErrorIs(t, err, http.ErrServerClosed)
				case <-time.After(10 * time.Second):
					t.Fatalf("%s after %s did not return", then.name, tt.name)
				}
				assert.Nil(t, s.Addrs(), "nothing was listened on")
				for range tt.hooks {
					select {
					case <-hooks:
					case <-time.After(10 * time.Second):
						t.Fatal("Shutdown did not run the hooks")
					}
				}
				if tt.hooks == 0 {
					assert.Empty(t, hooks, "Close runs no hooks")
				}
				assert.NoError(t, s.Close(), "a second stop is harmless")
			})
		}
	}
}

// A Server serves once: a second Serve (or Run) is an error and leaves
// the first serving; after Shutdown it is http.ErrServerClosed.
func TestServeTwice(t *testing.T) {
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "still here")
	}))
	for _, run := range []func() error{s.Serve, s.Run} {
		err := run()
		require.Error(t, err)
		assert.NotErrorIs(t, err, http.ErrServerClosed)
		assert.Contains(t, err.Error(), "Serve called twice")
	}
	resp, err := client(t).Get("http://" + addr + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, "still here", string(body))

	require.NoError(t, s.Shutdown(context.Background()))
	assert.ErrorIs(t, s.Serve(), http.ErrServerClosed)
}

// A nil handler is http.DefaultServeMux, as for http.ListenAndServe(addr,
// nil): code moving from net/http keeps its http.HandleFunc routes.
func TestNilHandlerIsDefaultServeMux(t *testing.T) {
	registerOnDefaultServeMux() // once: the mux panics at a second registration (-count)
	_, addr := start(t, nil)
	resp, err := client(t).Get("http://" + addr + defaultMuxPath)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "from DefaultServeMux", string(body))
}

const defaultMuxPath = "/carhop-nil-handler-test"

var registerOnDefaultServeMux = sync.OnceFunc(func() {
	http.HandleFunc(defaultMuxPath, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "from DefaultServeMux")
	})
})

// A Run that fails before serving (here its graceful restart cannot take
// a WithListener listener) leaves the server stopped, as if Close had come
// before Serve: Close returns, and a later Serve listens on nothing.
func TestRunFailingToStartLeavesServerStopped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s, err := New(http.NotFoundHandler(), WithListener(ln), WithGracefulRestart(true),
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	err = s.Run()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot pass WithListener listeners")
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close after a failed Run did not return")
	}
	assert.ErrorIs(t, s.Serve(), http.ErrServerClosed)
}
