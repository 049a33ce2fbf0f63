// Command idleconns measures what an idle keep-alive connection costs a
// server: it opens -n connections to -addr, sends one request on each and
// reads the response, keeps them all open, and reports how much the
// resident set of the server process -pid grew, per connection; with
// -watch, also the CPU the server used over that long while they idled.
// The suite's idle scenario does the same for every server. With -events
// each connection holds an event stream open instead (hello -events
// serves one at /events): what a subscriber costs.
//
//	go run ./bench/cmd/hello -server carhop -addr 127.0.0.1:8080 &
//	go run ./bench/cmd/idleconns -addr 127.0.0.1:8080 -pid $(pgrep -n hello) -n 10000
//
// Both processes need a file-descriptor limit above -n (ulimit -n 65536).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/carhop/carhop/bench/runner"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "server address")
	pid := flag.Int("pid", 0, "server process id (required)")
	n := flag.Int("n", 10000, "connections to open")
	settle := flag.Duration("settle", 2*time.Second, "wait before the second reading")
	watch := flag.Duration("watch", 0, "then read the server's CPU over this long while the connections idle")
	events := flag.String("events", "", "hold an event stream from this path open on each connection (hello -events: /events)")
	flag.Parse()
	if *pid == 0 {
		return errors.New("-pid is required")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	measure := runner.IdleCost
	if *events != "" {
		measure = func(ctx context.Context, addr string, pid, n int, settle, watch time.Duration) (runner.IdleResult, error) {
			return runner.StreamCost(ctx, addr, *events, pid, n, settle, watch)
		}
	}
	r, err := measure(context.Background(), *addr, *pid, *n, *settle, *watch)
	if err != nil {
		return err
	}
	fmt.Printf("connections=%d per_connection=%d B", r.Opened, r.PerConn)
	if *watch > 0 {
		fmt.Printf(" cpu=%.2f%%", r.CPU)
	}
	fmt.Println()
	return nil
}
