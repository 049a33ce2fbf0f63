// Command baseline runs one of the naive server designs (bench/baselines)
// answering "Hello, World!":
//
//	go run ./bench/cmd/baseline -serve process-per-conn -addr 127.0.0.1:8080
//
// It is the bench suite's binary for the baselines. The process designs
// re-execute their own binary for every child (process-per-conn: for every
// connection), so that binary's start-up is part of what they measure; it
// must be a fresh OS process, not a fresh copy of the report generator.
// This command imports only bench/baselines and the standard library, so a
// child pays for little more than the Go runtime's start. It stops on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/carhop/carhop/bench/baselines"
)

func main() {
	if baselines.Child() {
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run() error {
	name := flag.String("serve", "", "design to run: "+strings.Join(baselines.Names(), ", "))
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	design, ok := baselines.Designs[*name]
	if !ok {
		known := baselines.Names()
		sort.Strings(known)
		return fmt.Errorf("unknown design %q; known: %s", *name, strings.Join(known, ", "))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return design(ctx, ln.(*net.TCPListener))
}
