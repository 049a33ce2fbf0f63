// Command slowreaders measures what clients that read slowly cost a
// server while its responses wait for them: it opens -n connections to
// -addr, asks each for a -mb MiB download (bench/cmd/download's /?mb=N),
// reads -chunk bytes every -every through a -rcvbuf receive buffer, and
// reports the CPU time the server process -pid spent over -d, after -warm
// for the responses to be written and pile up.
//
//	go build -o /tmp/download ./bench/cmd/download
//	taskset -c 0 /tmp/download -server carhop -addr 127.0.0.1:8081 -outbuf-overflow 8388608 &
//	taskset -c 1 go run ./bench/cmd/slowreaders -addr 127.0.0.1:8081 -pid $(pgrep -n download) -n 1000
//
// docs/performance.md ("Many slow readers") was measured so, with the
// responses kept in memory (-outbuf-overflow above -mb) so that the disk
// does not enter into it. Both processes need a file-descriptor limit
// above -n.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/carhop/carhop/bench/runner"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "slowreaders:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8081", "the download server's address")
	pid := flag.Int("pid", 0, "the server's process ID, for its CPU time")
	n := flag.Int("n", 1000, "connections")
	mb := flag.Int("mb", 3, "MiB asked for on each")
	chunk := flag.Int("chunk", 4<<10, "bytes read at a time")
	every := flag.Duration("every", 100*time.Millisecond, "pause before each read")
	rcvbuf := flag.Int("rcvbuf", 16<<10, "receive buffer of each connection")
	warm := flag.Duration("warm", 10*time.Second, "wait before measuring")
	d := flag.Duration("d", 10*time.Second, "how long to measure")
	flag.Parse()
	if *pid <= 0 {
		return errors.New("-pid: the server's process ID")
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, *n)
	for range *n {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			return err
		}
		if err := c.(*net.TCPConn).SetReadBuffer(*rcvbuf); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(c, "GET /?mb=%d HTTP/1.1\r\nHost: slowreaders\r\n\r\n", *mb); err != nil {
			return err
		}
		wg.Go(func() {
			defer c.Close()
			r := bufio.NewReaderSize(c, *chunk)
			buf := make([]byte, *chunk)
			t := time.NewTicker(*every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if _, err := r.Read(buf); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	time.Sleep(*warm)
	before, err := runner.ProcessCPU(*pid)
	if err != nil {
		return err
	}
	time.Sleep(*d)
	after, err := runner.ProcessCPU(*pid)
	if err != nil {
		return err
	}
	stop()
	wg.Wait()
	close(errs)
	ended := 0
	for range errs {
		ended++
	}
	used := after - before
	fmt.Printf("%d slow readers: server CPU %.2f s over %v (%.0f %% of a CPU); %d connections ended early\n",
		*n, used.Seconds(), *d, 100*used.Seconds()/d.Seconds(), ended)
	return nil
}
