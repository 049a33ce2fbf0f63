package adapter_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/carhop/carhop/adapter"
)

// New and Server.Serve give control over the server's lifecycle; Serve
// (the function) is the same with signal handling built in.
func ExampleNew() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "Hello, "+r.URL.Query().Get("name"))
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(2))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()

	resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/?name=carhop")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(resp.Status, string(body))

	http.DefaultClient.CloseIdleConnections()
	_ = srv.Shutdown(context.Background())
	fmt.Println(<-done)
	// Output:
	// 200 OK Hello, carhop
	// http: Server closed
}

// Shutdown is the graceful stop: the listener closes at once, a request
// already running finishes and its response reaches the client, and then
// Serve returns.
func ExampleServer_Shutdown() {
	running := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(running)
		time.Sleep(100 * time.Millisecond) // still working when Shutdown begins
		_, _ = io.WriteString(w, "finished")
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()
	addr := srv.Addrs()[0].String()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		got <- resp.Status + " " + string(body)
		http.DefaultClient.CloseIdleConnections()
	}()
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("Shutdown:", srv.Shutdown(ctx))
	fmt.Println("in flight:", <-got)
	fmt.Println("Serve:", <-done)
	_, err = net.Dial("tcp", addr)
	fmt.Println("new connections refused:", err != nil)
	// Output:
	// Shutdown: <nil>
	// in flight: 200 OK finished
	// Serve: http: Server closed
	// new connections refused: true
}

// A server's Stats are a few atomic loads: cheap enough for a health
// check, a log line or a metrics scrape. StatsHandler serves them in the
// Prometheus text format, here on the same server under /metrics; in
// production, mount it where only the monitoring system can reach it.
func ExampleServer_Stats() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") })
	srv, err := adapter.New(mux, adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(2))
	if err != nil {
		panic(err)
	}
	mux.Handle("/metrics", srv.StatsHandler())
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()

	for range 3 {
		resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/")
		if err != nil {
			panic(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	_ = srv.Shutdown(context.Background())
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		panic(err)
	}
	st := srv.Stats()
	fmt.Println("requests:", st.Requests, "threads:", st.Tasks.Threads, "open connections:", st.Connections)
	// Output:
	// requests: 3 threads: 2 open connections: 0
}

// Run is the function Serve for a server made with New, here because the
// handler serves the server's own counters. The example sends itself the
// SIGTERM a supervisor would: Run drains and returns nil.
func ExampleServer_Run() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") })
	srv, err := adapter.New(mux, adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(2),
		adapter.WithShutdownTimeout(5*time.Second), adapter.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	mux.Handle("/metrics", srv.StatsHandler())
	done := make(chan error, 1)
	go func() { done <- srv.Run() }()
	<-srv.Ready()

	resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/metrics")
	if err != nil {
		panic(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))

	http.DefaultClient.CloseIdleConnections()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		panic(err)
	}
	fmt.Println("Run returned", <-done)
	// Output:
	// 200 OK text/plain; version=0.0.4; charset=utf-8
	// Run returned <nil>
}

// A streaming handler (server-sent events here) flushes each event as it
// is written. Handlers written for net/http often clear the server's
// write timeout first through http.ResponseController; with carhop the
// same code works, and a write deadline bounds how long a write may wait
// for a slow client (docs/design.md, "Timeouts").
func Example_streaming() {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Time{}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "data: event %d\n\n", i)
			if err := rc.Flush(); err != nil {
				return // the client went away
			}
		}
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(2))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()

	resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/events")
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Header.Get("Content-Type"), resp.TransferEncoding)
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if lines.Text() != "" {
			fmt.Println(lines.Text())
		}
	}
	_ = resp.Body.Close()

	http.DefaultClient.CloseIdleConnections()
	_ = srv.Shutdown(context.Background())
	fmt.Println(<-done)
	// Output:
	// text/event-stream [chunked]
	// data: event 0
	// data: event 1
	// data: event 2
	// http: Server closed
}

// A handler that flushes is a stream, and runs beside the workers rather
// than on one: with one thread, two clients following server-sent
// events do not keep a third from its answer. (A handler that waits
// without flushing, a long poll, keeps its worker; flushing the head
// first is how it says it is a stream, or ReleaseWorker.)
func ExampleWithThreads() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events" {
			_, _ = io.WriteString(w, "answered")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: subscribed\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // until the client goes
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(1))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()
	base := "http://" + srv.Addrs()[0].String()

	var streams []io.Closer
	for range 2 {
		resp, err := http.Get(base + "/events")
		if err != nil {
			panic(err)
		}
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		fmt.Print(line)
		streams = append(streams, resp.Body)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(string(body))

	for _, s := range streams {
		_ = s.Close() // the clients go, and their handlers return
	}
	http.DefaultClient.CloseIdleConnections()
	_ = srv.Shutdown(context.Background())
	fmt.Println(<-done)
	// Output:
	// data: subscribed
	// data: subscribed
	// answered
	// http: Server closed
}

// A long poll waits for an event before it knows its answer, so it
// cannot flush its head to say it is a stream; ReleaseWorker says so
// instead. With one thread, a client waiting for news does not keep
// another from its answer.
func ExampleReleaseWorker() {
	news := make(chan string)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/poll" {
			_, _ = io.WriteString(w, "answered")
			return
		}
		// http.ErrNotSupported on other servers, and adapter.ErrWorkerKept
		// past the descriptor budget: either way the poll still waits, on
		// its worker.
		_ = adapter.ReleaseWorker(w)
		select {
		case n := <-news:
			_, _ = io.WriteString(w, n)
		case <-r.Context().Done():
		}
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(1))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()
	base := "http://" + srv.Addrs()[0].String()
	get := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return string(body)
	}

	polled := make(chan string)
	go func() { polled <- get("/poll") }()
	for srv.Stats().Tasks.Released == 0 {
		time.Sleep(time.Millisecond) // until the poll waits
	}
	fmt.Println(get("/"))
	news <- "news"
	fmt.Println(<-polled)

	http.DefaultClient.CloseIdleConnections()
	_ = srv.Shutdown(context.Background())
	fmt.Println(<-done)
	// Output:
	// answered
	// news
	// http: Server closed
}

type requestIDPrefix struct{}

// WithBaseContext is net/http's BaseContext: every r.Context() carries
// its values (a logger, a tracer, a prefix) and ends when it does.
func ExampleWithBaseContext() {
	base := context.WithValue(context.Background(), requestIDPrefix{}, "eu-1")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "served by %v", r.Context().Value(requestIDPrefix{}))
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"), adapter.WithBaseContext(base))
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve() }()
	<-srv.Ready()

	resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(string(body))

	http.DefaultClient.CloseIdleConnections()
	_ = srv.Shutdown(context.Background())
	// Output: served by eu-1
}

// Shutdown waits for running handlers, and a handler that hijacked its
// connection (a websocket, here a line echo) runs until that connection
// ends: RegisterOnShutdown tells such connections to end when the drain
// begins.
func ExampleServer_RegisterOnShutdown() {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		mu.Lock()
		open[c] = true
		mu.Unlock()
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				break // closed by the hook below
			}
			_, _ = io.WriteString(c, line)
		}
		mu.Lock()
		delete(open, c)
		mu.Unlock()
		_ = c.Close()
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"))
	if err != nil {
		panic(err)
	}
	srv.RegisterOnShutdown(func() {
		mu.Lock()
		defer mu.Unlock()
		for c := range open {
			_ = c.Close() // a websocket would send a close frame first
		}
	})
	go func() { _ = srv.Serve() }()
	<-srv.Ready()

	c, err := net.Dial("tcp", srv.Addrs()[0].String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /echo HTTP/1.1\r\nHost: example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhello\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		panic(err)
	}
	echo, _ := r.ReadString('\n')
	fmt.Print(resp.Status, ", ", echo)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("drained:", srv.Shutdown(ctx))
	// Output:
	// 101 Switching Protocols, hello
	// drained: <nil>
}
