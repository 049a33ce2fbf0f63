// Command hello runs one of the benchmark servers (bench/peers) answering
// "Hello, World!", for load generators such as wrk:
//
//	go run ./bench/cmd/hello -server carhop -addr 127.0.0.1:8080
//
// It stops on SIGINT or SIGTERM. With -cpuprofile it writes a CPU profile
// of the whole run when it stops, for `go tool pprof`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/carhop/carhop/bench/peers"
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
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return peers.Run(ctx, *server, *addr, func() {
		fmt.Printf("%s listening on %s (GOMAXPROCS=%d)\n", *server, *addr, runtime.GOMAXPROCS(0))
	})
}
