// Command pipeliners measures what clients that pipeline far ahead of a
// handler that does not answer cost a server: it opens -n connections to
// -addr, writes on each -k requests for -path with a header of -pad bytes,
// then -junk bytes more, then the first -partial bytes of one more such
// request (a head that never ends: -k 0 -junk 0 -partial 250000 is a
// slowloris with large heads), waits -warm for the server to read what
// it will, and reports the resident set of the server process -pid before
// and after, and how many connections the server answered (a refusal:
// the handler at /wait answers nobody) or closed meanwhile.
//
//	go build -o /tmp/download ./bench/cmd/download
//	/tmp/download -server carhop -addr 127.0.0.1:8081 &
//	go run ./bench/cmd/pipeliners -addr 127.0.0.1:8081 -pid $(pgrep -n download)
//
// bench/cmd/download's /wait answers once its client has gone. A server
// reading one request at a time holds the first head and leaves the rest
// in the kernel; an event loop reads it all (docs/performance.md,
// "Clients that pipeline ahead").
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/carhop/carhop/bench/runner"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pipeliners:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8081", "the server's address")
	pid := flag.Int("pid", 0, "the server's process ID, for its resident set")
	n := flag.Int("n", 200, "connections")
	k := flag.Int("k", 17, "requests pipelined on each")
	pad := flag.Int("pad", 200<<10, "bytes of one header field in each request")
	junk := flag.Int("junk", 1<<20, "bytes sent after the requests")
	path := flag.String("path", "/wait", "what each request asks for")
	partial := flag.Int("partial", 0, "bytes of a last request head, sent without its end")
	warm := flag.Duration("warm", 3*time.Second, "wait after the writes before measuring")
	flag.Parse()
	if *pid <= 0 {
		return errors.New("-pid: the server's process ID")
	}
	runner.RaiseFileLimit()
	before, err := runner.RSS(*pid)
	if err != nil {
		return err
	}
	one := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: h\r\nX-Pad: %s\r\n\r\n", *path, strings.Repeat("p", *pad))
	payload := []byte(strings.Repeat(one, *k) + strings.Repeat("z", *junk))
	if *partial > 0 {
		last := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: h\r\nX-Pad: %s", *path, strings.Repeat("p", *partial))
		payload = append(payload, last[:*partial]...)
	}

	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	var wg sync.WaitGroup
	for range *n {
		c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A server that reads one request at a time leaves the rest in
			// the kernel, whose buffers fill: the write then waits, and
			// gives up here.
			_ = c.SetWriteDeadline(time.Now().Add(*warm))
			_, _ = c.Write(payload)
		}()
	}
	wg.Wait()
	time.Sleep(*warm)
	after, err := runner.RSS(*pid)
	if err != nil {
		return err
	}
	answered, closed := 0, 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := bufio.NewReader(c).ReadByte()
		var ne net.Error
		switch {
		case err == nil:
			answered++
		case !errors.As(err, &ne) || !ne.Timeout():
			closed++
		}
	}
	fmt.Printf("connections %d, %d requests of %d KiB, %d KiB more and %d KiB of a head each: server RSS %d MiB before, %d MiB after (+%d), %d connections answered and %d closed by the server\n",
		*n, *k, *pad>>10, *junk>>10, *partial>>10, before>>20, after>>20, (after-before)>>20, answered, closed)
	return nil
}
