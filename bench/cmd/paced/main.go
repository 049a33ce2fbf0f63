// Command paced measures the latency a sparse client sees: one keep-alive
// client sends -n GET requests to -addr, one every -gap, and reports the
// median, 90th and 99th percentile and the worst. Back-to-back requests
// (the suite's lone scenario) keep a server's threads busy; requests
// spaced apart find them asleep, and show what waking them costs (see
// docs/performance.md, "An idle server").
//
//	go run ./bench/cmd/hello -server carhop -addr 127.0.0.1:8080 &
//	go run ./bench/cmd/paced -addr 127.0.0.1:8080 -n 200 -gap 50ms
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "paced:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "server address")
	n := flag.Int("n", 200, "requests")
	gap := flag.Duration("gap", 50*time.Millisecond, "pause after each response")
	flag.Parse()
	if *n < 1 {
		return errors.New("-n must be at least 1")
	}
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	lat := make([]time.Duration, 0, *n)
	for range *n {
		start := time.Now()
		resp, err := c.Get("http://" + *addr + "/")
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(start))
		time.Sleep(*gap)
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	fmt.Printf("requests=%d gap=%v p50=%v p90=%v p99=%v worst=%v\n", len(lat), *gap, at(0.5), at(0.9), at(0.99), lat[len(lat)-1])
	return nil
}
