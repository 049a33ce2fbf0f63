package adapter

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/carhop/carhop/internal/clock"
)

// BenchmarkServe runs whole requests through the server with a keep-alive
// client in the same process, for carhop and net/http in the same run
// (`benchstat -col /impl`). Use it for allocations per request and for
// regressions; not for throughput between designs: the in-process client
// shares Go's scheduler with net/http's goroutines but not with gnet's
// epoll threads, which skews the comparison. Throughput is measured with
// separate processes pinned to separate CPUs: bench/scripts/wrk-peers.sh.
func BenchmarkServe(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello, World!")
	})
	for _, conns := range []int{1, 50} {
		for _, impl := range benchServers {
			b.Run("conns="+strconv.Itoa(conns)+"/impl="+impl.name, func(b *testing.B) {
				load(b, impl.start(b, h), conns)
			})
		}
	}
}

// BenchmarkServeFlushed is BenchmarkServe at 50 connections with a
// handler that flushes its response: the cost of a handler leaving the
// pool (a new worker per request) where it leaves it for nothing. The
// handler declares its length, so that the client reads it as
// BenchmarkServe's.
func BenchmarkServeFlushed(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "13")
		_, _ = io.WriteString(w, "Hello, World!")
		w.(http.Flusher).Flush()
	})
	for _, impl := range benchServers {
		b.Run("impl="+impl.name, func(b *testing.B) {
			load(b, impl.start(b, h), 50)
		})
	}
}

// BenchmarkServePipelined is BenchmarkServe with each connection sending
// its requests in batches of 16 pipelined requests (one op is one batch).
func BenchmarkServePipelined(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Hello, World!")
	})
	for _, impl := range benchServers {
		b.Run("impl="+impl.name, func(b *testing.B) {
			loadBatches(b, impl.start(b, h), 50, 16)
		})
	}
}

// BenchmarkServeDownload is one keep-alive client fetching 8 MiB
// responses that the handler writes 64 KiB at a time with a
// Content-Length, as bench/cmd/download does (docs/performance.md, "Bulk
// transfers"); MB/s is the response body's.
func BenchmarkServeDownload(b *testing.B) { benchDownload(b, false) }

// BenchmarkServeDownloadFlushed is BenchmarkServeDownload with a flush
// after every write: a stream, which leaves the pool at its first flush
// and whose output then waits in memory instead of spilling
// (channel.Endless).
func BenchmarkServeDownloadFlushed(b *testing.B) { benchDownload(b, true) }

func benchDownload(b *testing.B, flush bool) {
	const size, piece = 8 << 20, 64 << 10
	chunk := make([]byte, piece)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for range size / piece {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if flush {
				w.(http.Flusher).Flush()
			}
		}
	})
	for _, impl := range benchServers {
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.SetBytes(size)
			load(b, impl.start(b, h), 1)
		})
	}
}

// benchServers start carhop or net/http on a port of their own for the
// benchmark, stopped when it ends, and return the address.
var benchServers = []struct {
	name  string
	start func(b *testing.B, h http.Handler) string
}{
	{"carhop", func(b *testing.B, h http.Handler) string {
		s := startBenchCarhop(b, h)
		b.Cleanup(func() {
			// Where a response spilled to disk, the figure is the disk's
			// as much as carhop's: say how often.
			if n := s.Stats().SpilledOutputs; n > 0 {
				b.ReportMetric(float64(n)/float64(b.N), "spills/op")
			}
		})
		return s.Addrs()[0].String()
	}},
	{"net-http", func(b *testing.B, h http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
		go func() { _ = srv.Serve(ln) }()
		b.Cleanup(func() { _ = srv.Close() })
		return ln.Addr().String()
	}},
}

// load sends b.N GET requests over conns keep-alive connections.
func load(b *testing.B, addr string, conns int) {
	loadBatches(b, addr, conns, 1)
}

// loadBatches sends b.N batches of depth pipelined GET requests over conns
// keep-alive connections, reading a batch's responses before the next.
func loadBatches(b *testing.B, addr string, conns, depth int) {
	req := bytes.Repeat([]byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n"), depth)
	var wg sync.WaitGroup
	work := make(chan struct{}, conns*2)
	errs := make(chan error, conns)
	b.ReportAllocs()
	b.ResetTimer()
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			r := bufio.NewReader(c)
			for range work {
				if _, err := c.Write(req); err != nil {
					errs <- err
					return
				}
				for range depth {
					if err := readResponse(r); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// readResponse reads a response head and its Content-Length body.
func readResponse(r *bufio.Reader) error {
	n := 0
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	_, err := r.Discard(n)
	return err
}

func startBenchCarhop(b *testing.B, h http.Handler) *Server {
	s, err := New(h, WithListen("127.0.0.1:0"), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	<-s.Ready()
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkRequestPath is carhop's own cost per request with the sockets
// and the event loop taken away (the unit harness): parse, build the
// *http.Request, run a handler that writes a short body, frame and write
// the response. It is the part of the ~10 µs a request costs at 50
// connections that carhop controls (docs/performance.md), measured
// without the noise of system calls and scheduling.
func BenchmarkRequestPath(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello, World!")
	})
	for _, tc := range []struct{ name, req string }{
		{"wrk", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"},
		{"browser", "GET /search?q=carhop HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0\r\n" +
			"Accept: text/html\r\nAccept-Language: en\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n"},
	} {
		b.Run("req="+tc.name, func(b *testing.B) {
			clock.Start() // as a running server does: the Date comes from its ticker
			b.Cleanup(clock.Stop)
			u := newUnit(b, h)
			req := []byte(tc.req)
			b.ReportAllocs()
			for b.Loop() {
				if u.feed(req) != len(req) {
					b.Fatal("request not consumed")
				}
				u.conn.out.Reset()
			}
		})
	}
}
