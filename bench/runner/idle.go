package runner

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carhop/carhop/internal/procmem"
)

// IdleResult is what IdleCost measured.
type IdleResult struct {
	PerConn int64   // growth of the resident set per connection, in bytes
	Opened  int     // connections opened
	CPU     float64 // CPU the server used while they idled, in percent of one CPU (0 if not watched)
}

// IdleCost opens n connections to addr, sends one request on each and
// reads its response, keeps them open, and measures how much the resident
// set of process pid (and its descendants) grew per connection, after
// settle, and then, if watch is set, the CPU they used over watch while
// the connections idled.
//
// It first sends a few requests on a connection of its own and closes it:
// a server's first requests page in its code and fill its pools once, a
// cost that does not grow with connections and that, divided by n, would
// be charged to each (about 40 bytes of code pages per connection for
// carhop at n = 10,000).
func IdleCost(ctx context.Context, addr string, pid, n int, settle, watch time.Duration) (IdleResult, error) {
	return idleCost(ctx, addr, pid, n, settle, watch, roundTrip)
}

// StreamCost is IdleCost for connections that each hold an event stream
// open: it asks each for path and reads the response's head and first
// event (a line and a blank line, as server-sent events are framed),
// then leaves the stream open and unread while it measures.
func StreamCost(ctx context.Context, addr, path string, pid, n int, settle, watch time.Duration) (IdleResult, error) {
	return idleCost(ctx, addr, pid, n, settle, watch, func(c net.Conn, r *bufio.Reader) error {
		return subscribe(c, r, path)
	})
}

// idleCost is IdleCost with open saying what each connection does before
// it idles.
func idleCost(ctx context.Context, addr string, pid, n int, settle, watch time.Duration, open func(net.Conn, *bufio.Reader) error) (IdleResult, error) {
	if err := warmUp(ctx, addr, 10); err != nil {
		return IdleResult{}, fmt.Errorf("warm-up: %w", err)
	}
	before, err := RSS(pid)
	if err != nil {
		return IdleResult{}, err
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	d := net.Dialer{Timeout: 5 * time.Second}
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return IdleResult{Opened: len(conns)}, err
		}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return IdleResult{Opened: len(conns)}, fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := open(c, bufio.NewReader(c)); err != nil {
			return IdleResult{Opened: len(conns)}, fmt.Errorf("connection %d: %w", i, err)
		}
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return IdleResult{Opened: len(conns)}, ctx.Err()
	}
	after, err := RSS(pid)
	if err != nil {
		return IdleResult{Opened: len(conns)}, err
	}
	r := IdleResult{PerConn: (after - before) / int64(len(conns)), Opened: len(conns)}
	if watch > 0 {
		start := TreeCPU(pid)
		select {
		case <-time.After(watch):
		case <-ctx.Done():
			return r, ctx.Err()
		}
		r.CPU = 100 * float64(TreeCPU(pid)-start) / float64(watch)
	}
	return r, nil
}

// warmUp sends requests GET requests on one keep-alive connection.
func warmUp(ctx context.Context, addr string, requests int) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for range requests {
		if err := roundTrip(c, r); err != nil {
			return err
		}
	}
	return nil
}

// roundTrip sends one GET on c and reads its response through r.
func roundTrip(c net.Conn, r *bufio.Reader) error {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// subscribe asks for the event stream at path and reads its head and
// first event.
func subscribe(c net.Conn, r *bufio.Reader, path string) error {
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(r, nil) //nolint:bodyclose // the stream stays open: Close would read it to its end, which never comes
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	event := bufio.NewReader(resp.Body)
	for {
		line, err := event.ReadString('\n')
		if err != nil {
			return fmt.Errorf("GET %s: the first event: %w", path, err)
		}
		if line == "\n" {
			return nil
		}
	}
}

// RSS is the resident set size of process pid and all its descendants,
// in bytes: a server that forks (a process per connection, NGINX's or
// Gunicorn's workers) keeps its connections' memory in its children.
func RSS(pid int) (int64, error) {
	total, err := rssOf(pid)
	if err != nil {
		return 0, err
	}
	for _, child := range descendants(pid) {
		if n, err := rssOf(child); err == nil { // a child may exit meanwhile
			total += n
		}
	}
	return total, nil
}

// descendants lists the processes below pid, from /proc/*/stat.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces: the
		// parent pid is the second field after the last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

func rssOf(pid int) (int64, error) { return procmem.Bytes(pid, "VmRSS") }

func setNoFile() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
