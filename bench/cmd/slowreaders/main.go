// Command slowreaders measures what clients that read slowly cost a
// server while its responses wait for them: it opens -n connections to
// -addr, asks each for a -mb MiB download (bench/cmd/download's /?mb=N),
// reads -chunk bytes every -every through a -rcvbuf receive buffer, and
// reports the CPU time the server process -pid spent over -d, after -warm
// for the responses to be written and pile up, its resident set at the
// end, and, with -probes, how long requests for nothing (/?mb=0, each on a
// connection of its own, one at a time, spread across -d) waited
// meanwhile: whether the slow downloads leave the server a worker. With -path /file the
// readers ask for the file bench/cmd/download -file-mb serves instead.
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
	"io"
	"net"
	"net/http"
	"os"
	"slices"
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
	path := flag.String("path", "/", "what to download: / (the handler writes -mb MiB) or /file")
	probes := flag.Int("probes", 0, "requests for nothing sent across -d, their latency reported")
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
		if _, err := fmt.Fprintf(c, "GET %s?mb=%d HTTP/1.1\r\nHost: slowreaders\r\n\r\n", *path, *mb); err != nil {
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
	var waits []time.Duration
	if *probes > 0 {
		waits = probe(*addr, *probes, *d)
	} else {
		time.Sleep(*d)
	}
	after, err := runner.ProcessCPU(*pid)
	if err != nil {
		return err
	}
	rss, err := runner.RSS(*pid)
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
	fmt.Printf("%d slow readers: server CPU %.2f s over %v (%.0f %% of a CPU), RSS %.1f MiB; %d connections ended early\n",
		*n, used.Seconds(), *d, 100*used.Seconds()/d.Seconds(), float64(rss)/(1<<20), ended)
	if *probes > 0 {
		slices.Sort(waits)
		fmt.Printf("requests for nothing meanwhile: %d answered of %d", len(waits), *probes)
		if len(waits) > 0 {
			fmt.Printf(", median %v, max %v", waits[len(waits)/2], waits[len(waits)-1])
		}
		fmt.Println()
	}
	return nil
}

// probe sends n requests for nothing, one at a time, each on a new
// connection, spread across d, and returns how long each answered one
// took; one not answered within d does not count. It returns after d.
func probe(addr string, n int, d time.Duration) []time.Duration {
	end := time.Now().Add(d)
	var waits []time.Duration
	for i := range n {
		time.Sleep(time.Until(end.Add(-d + time.Duration(i)*d/time.Duration(max(n, 1)))))
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, time.Until(end))
		if err != nil {
			continue
		}
		_ = c.SetDeadline(end)
		_, err = fmt.Fprint(c, "GET /?mb=0 HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
		if err == nil {
			var resp *http.Response
			if resp, err = http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}
		_ = c.Close()
		if err == nil {
			waits = append(waits, time.Since(start))
		}
	}
	time.Sleep(time.Until(end))
	return waits
}
