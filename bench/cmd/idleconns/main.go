// Command idleconns measures what an idle keep-alive connection costs a
// server: it opens -n connections to -addr, sends one request on each and
// reads the response, keeps them all open, and reports how much the
// resident set of the server process -pid grew, per connection.
//
//	go run ./bench/cmd/hello -server carhop -addr 127.0.0.1:8080 &
//	go run ./bench/cmd/idleconns -addr 127.0.0.1:8080 -pid $(pgrep -n hello) -n 10000
//
// Both processes need a file-descriptor limit above -n (ulimit -n 65536);
// this one raises its own soft limit to the hard limit.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
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
	flag.Parse()
	if *pid == 0 {
		return errors.New("-pid is required")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	before, err := rss(*pid)
	if err != nil {
		return err
	}
	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for i := 0; i < *n; i++ {
		c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	time.Sleep(*settle)
	after, err := rss(*pid)
	if err != nil {
		return err
	}
	fmt.Printf("connections=%d rss_before=%d KiB rss_after=%d KiB per_connection=%d B\n",
		len(conns), before>>10, after>>10, (after-before)/int64(len(conns)))
	return nil
}

// rss reads VmRSS of process pid, in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}
