// Command paced measures the latency sparse clients see: -c keep-alive
// clients each send GET requests to -addr, one every -gap, -n of them or
// for -d, and it reports the requests a second and the median, 90th and
// 99th percentile latency and the worst. Back-to-back requests (the
// suite's lone scenario, wrk) keep a server's threads busy; requests
// spaced apart find them asleep, and show what waking them costs (see
// docs/performance.md, "An idle server" and "How many event loops").
//
//	go run ./bench/cmd/hello -server carhop -addr 127.0.0.1:8080 &
//	go run ./bench/cmd/paced -addr 127.0.0.1:8080 -n 200 -gap 50ms
//	go run ./bench/cmd/paced -addr 127.0.0.1:8080 -c 50 -gap 1ms -d 5s
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
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
	n := flag.Int("n", 200, "requests per client (unless -d is set)")
	d := flag.Duration("d", 0, "send for this long instead of -n requests")
	clients := flag.Int("c", 1, "clients, each on a keep-alive connection of its own")
	gap := flag.Duration("gap", 50*time.Millisecond, "pause after each response")
	flag.Parse()
	if *n < 1 || *clients < 1 {
		return errors.New("-n and -c must be at least 1")
	}
	c := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *clients},
	}
	defer c.CloseIdleConnections()
	start := time.Now()
	lats := make([][]time.Duration, *clients)
	errs := make([]error, *clients)
	var wg sync.WaitGroup
	for i := range *clients {
		wg.Go(func() { lats[i], errs[i] = client(c, "http://"+*addr+"/", *n, *d, *gap) })
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	lat := slices.Concat(lats...)
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	fmt.Printf("requests=%d clients=%d gap=%v req/s=%.0f p50=%v p90=%v p99=%v worst=%v\n",
		len(lat), *clients, *gap, float64(len(lat))/took.Seconds(), at(0.5), at(0.9), at(0.99), lat[len(lat)-1])
	return nil
}

// client sends n requests to url, or as many as fit in d if d is set,
// pausing gap after each response, and returns their latencies.
func client(c *http.Client, url string, n int, d, gap time.Duration) ([]time.Duration, error) {
	end := time.Now().Add(d)
	more := func(sent int) bool {
		if d > 0 {
			return time.Now().Before(end)
		}
		return sent < n
	}
	var lat []time.Duration
	for i := 0; more(i); i++ {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			return lat, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return lat, err
		}
		lat = append(lat, time.Since(start))
		time.Sleep(gap)
	}
	return lat, nil
}
