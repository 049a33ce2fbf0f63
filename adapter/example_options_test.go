package adapter_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/carhop/carhop/adapter"
)

// Serve is what a main calls: it listens, serves, and on SIGINT or
// SIGTERM drains the requests in flight and returns. The options read like
// Waitress's settings; docs/operations.md lists each with its default.
func ExampleServe() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Hello, World!\n")
	})
	err := adapter.Serve(mux,
		adapter.WithListen("0.0.0.0:8080", "[::]:8080"), // Waitress listen
		adapter.WithThreads(8),                          // threads
		adapter.WithConnectionLimit(10000),              // connection_limit
		adapter.WithChannelTimeout(2*time.Minute),       // channel_timeout
		adapter.WithMaxRequestBodySize(64<<20),          // max_request_body_size
		adapter.WithShutdownTimeout(20*time.Second),     // how long SIGTERM's drain may take
	)
	if err != nil {
		log.Fatal(err)
	}
}

// A body over the limit is refused before the handler runs and before a
// byte of it is read: 413, and the connection closes, since the rest of
// the body is still on its way.
func ExampleWithMaxRequestBodySize() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		_, _ = fmt.Fprintf(w, "read %d bytes", n)
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"), adapter.WithMaxRequestBodySize(1024),
		adapter.WithLogger(slog.New(slog.DiscardHandler))) // the refusal is logged once, at info level
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve() }()
	<-srv.Ready()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	for _, size := range []int{1024, 1025} {
		c, err := net.Dial("tcp", srv.Addrs()[0].String())
		if err != nil {
			panic(err)
		}
		_, _ = fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: example\r\nContent-Length: %d\r\n\r\n", size)
		if size <= 1024 {
			_, _ = io.WriteString(c, strings.Repeat("x", size))
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		_ = c.Close()
		fmt.Printf("%d bytes: %s, close=%v, %q\n", size, resp.Status, resp.Close, strings.TrimSpace(string(body)))
	}
	// Output:
	// 1024 bytes: 200 OK, close=false, "read 1024 bytes"
	// 1025 bytes: 413 Request Entity Too Large, close=true, "413 Request Entity Too Large: request body too large"
}

// WithBufferMemory bounds what all connections keep in memory together.
// Here it is 64 KiB, so of a 100 KiB upload, which its own threshold
// (WithInbufOverflow, 512 KiB) would keep in memory whole, 64 KiB stay in
// memory and the rest waits in a temporary file; reading the body gives
// the memory back.
func ExampleWithBufferMemory() {
	var srv *adapter.Server
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := srv.Stats()
		n, _ := io.Copy(io.Discard, r.Body)
		after := srv.Stats()
		_, _ = fmt.Fprintf(w, "read %d bytes; in memory %d, then %d; limit reached %d time(s)",
			n, before.BufferedBytes, after.BufferedBytes, before.BufferMemoryDenied)
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"), adapter.WithBufferMemory(64<<10),
		adapter.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve() }()
	<-srv.Ready()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	resp, err := http.Post("http://"+srv.Addrs()[0].String()+"/upload", "application/octet-stream",
		strings.NewReader(strings.Repeat("x", 100<<10)))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(string(body))
	// Output:
	// read 102400 bytes; in memory 65536, then 0; limit reached 1 time(s)
}
