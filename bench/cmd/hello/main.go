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
	flag.Parse()
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
