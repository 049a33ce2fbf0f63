// Command hello runs one of the benchmark servers (bench/peers) answering
// "Hello, World!", for load generators such as wrk:
//
//	go run ./bench/cmd/hello -server carhop -addr 127.0.0.1:8080
//
// It stops on SIGINT or SIGTERM. With -cpuprofile it writes a CPU profile
// of the whole run when it stops, for `go tool pprof`. With -upstream the
// handler first fetches a URL, as handlers that wait on a backend do (Go's
// netpoller then has work of its own while the server's loops wait):
//
//	go run ./bench/cmd/hello -server net-http -addr 127.0.0.1:8081 &
//	go run ./bench/cmd/hello -server carhop -upstream http://127.0.0.1:8081/
//
// With -events it also serves /events, an event stream that sends one
// event and then waits for its client to leave (bench/cmd/idleconns
// -events measures what such subscribers cost).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/carhop/carhop/bench/peers"
	"github.com/carhop/carhop/internal/cpuprofile"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run() error {
	server := flag.String("server", "carhop", "server to run: "+strings.Join(peers.Names(), ", "))
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	upstream := flag.String("upstream", "", "fetch this URL before answering each request (carhop, net-http, nbio)")
	events := flag.Bool("events", false, "serve /events: an event stream that sends one event and then waits for its client to leave (carhop, net-http, nbio)")
	flag.Parse()
	if *events {
		if *server != "carhop" && *server != "net-http" && *server != "nbio" {
			return fmt.Errorf("-events needs a server that runs peers.Hello, not %s", *server)
		}
		peers.Hello = withEvents(peers.Hello)
	}
	if *upstream != "" {
		if *server != "carhop" && *server != "net-http" && *server != "nbio" {
			return fmt.Errorf("-upstream needs a server that runs peers.Hello, not %s", *server)
		}
		peers.Hello = fetchFirst(*upstream, peers.Hello)
	}
	stopProfile, err := cpuprofile.Start(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return peers.Run(ctx, *server, *addr, func() {
		fmt.Printf("%s listening on %s (GOMAXPROCS=%d)\n", *server, *addr, runtime.GOMAXPROCS(0))
	})
}

// fetchFirst answers each request with next after a GET of url, or with
// 502 if that fails.
func fetchFirst(url string, next http.HandlerFunc) http.HandlerFunc {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, url, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := c.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		next(w, r)
	}
}

// withEvents serves /events as a subscriber waiting for news: one event,
// flushed, then nothing until the client leaves. Other paths go to next.
func withEvents(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events" {
			next(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: subscribed\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}
