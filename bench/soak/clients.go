package soak

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carhop/carhop/bench/load"
)

// client is one worker's connection state for one kind; do runs one
// operation.
type client interface {
	do(ctx context.Context) outcome
	close()
}

func newClient(kind Kind, addr string, worker int) client {
	switch kind {
	case Small:
		return &keepAlive{addr: addr, op: smallOp}
	case Upload:
		return &keepAlive{addr: addr, op: uploadOp}
	case Download:
		return &keepAlive{addr: addr, op: downloadOp}
	case Stream:
		return &keepAlive{addr: addr, op: streamOp(streamRequest, streamBody)}
	case Subscriber:
		return &keepAlive{addr: addr, op: streamOp(eventsRequest, eventsBody)}
	case SlowHandler:
		return &keepAlive{addr: addr, op: slowHandlerOp}
	case Pipelined:
		return &keepAlive{addr: addr, op: pipelinedOp}
	case Greedy:
		return &greedy{addr: addr}
	case HalfClosed:
		return &halfCloser{addr: addr}
	case SlowClient:
		return &slowReader{addr: addr}
	case Slowloris:
		return &slowloris{addr: addr}
	case Bad:
		return &badClient{addr: addr, next: worker}
	case Upgrade:
		return &upgrader{addr: addr}
	case Continue:
		return &keepAlive{addr: addr, op: continueOp}
	case Abort:
		return &aborter{addr: addr, worker: worker}
	}
	panic("soak: unknown kind " + string(kind))
}

// keepAlive runs op over one kept-alive connection, dialing again after
// any failure or a close the server asked for.
type keepAlive struct {
	addr string
	c    *conn
	seq  uint64
	op   func(c *conn, seq uint64) (o outcome, reusable bool)
}

func (k *keepAlive) do(ctx context.Context) outcome {
	if k.c == nil {
		c, err := dial(ctx, k.addr, nil, 0)
		if err != nil {
			return failure(classify(err), err)
		}
		k.c = c
	}
	k.seq++
	o, reusable := k.op(k.c, k.seq)
	if o.failed > 0 || !reusable {
		k.close()
	}
	return o
}

func (k *keepAlive) close() {
	if k.c != nil {
		k.c.close()
		k.c = nil
	}
}

const host = "Host: soak\r\n"

var smallRequest = []byte("GET /small HTTP/1.1\r\n" + host + "\r\n")

func smallOp(c *conn, _ uint64) (outcome, bool) {
	start := time.Now()
	resp, err := c.roundTrip(smallRequest)
	if err != nil {
		return failure(classify(err), err), false
	}
	return bodyOutcome(resp, http.StatusOK, helloBody, start), !resp.Close
}

func uploadOp(c *conn, seq uint64) (outcome, bool) {
	start := time.Now()
	if err := c.arm(start.Add(opTimeout)); err != nil {
		return failure(classify(err), err), false
	}
	head := fmt.Sprintf("POST /upload HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n", host, uploadBytes)
	if _, err := io.WriteString(c.c, head); err != nil {
		return failure(classify(err), err), false
	}
	sum := sha256.New()
	if _, err := io.Copy(io.MultiWriter(c.c, sum), newPattern(seq, uploadBytes)); err != nil {
		return failure(classify(err), err), false
	}
	resp, err := c.readResponse(nil)
	if err != nil {
		return failure(classify(err), err), false
	}
	want := fmt.Sprintf("%s %d\n", hex.EncodeToString(sum.Sum(nil)), uploadBytes)
	return bodyOutcome(resp, http.StatusOK, want, start), !resp.Close
}

// downloadOp asks for a download, or every fourth time for its head
// alone (headOp).
func downloadOp(c *conn, seq uint64) (outcome, bool) {
	start := time.Now()
	if seq%4 == 0 {
		return headOp(c, seq, start)
	}
	resp, err := c.roundTrip(downloadRequest(seq, downloadBytes, ""))
	if err != nil {
		return failure(classify(err), err), false
	}
	return patternOutcome(resp, seq, downloadBytes, false, start), !resp.Close
}

// headOp sends HEAD for a download whose handler writes the body all the
// same: the answer must be 200 with the length a GET would get, and no
// body, which the next request on the connection would otherwise read
// as its response.
func headOp(c *conn, seq uint64, start time.Time) (outcome, bool) {
	if err := c.arm(start.Add(opTimeout)); err != nil {
		return failure(classify(err), err), false
	}
	req := fmt.Sprintf("HEAD /download?seed=%d&size=%d HTTP/1.1\r\n%s\r\n", seq, downloadBytes, host)
	if _, err := io.WriteString(c.c, req); err != nil {
		return failure(classify(err), err), false
	}
	resp, err := c.readResponse(&http.Request{Method: http.MethodHead})
	if err != nil {
		return failure(classify(err), err), false
	}
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusOK:
		return statusFailure(resp, fmt.Errorf("%w: %s to HEAD, want 200", errStatus, resp.Status)), false
	case resp.ContentLength != downloadBytes:
		return failure(ErrMismatch, fmt.Errorf("%w: HEAD declared %d bytes, want %d", errMismatch, resp.ContentLength, downloadBytes)), false
	}
	return outcome{served: 1, latency: time.Since(start)}, !resp.Close
}

func downloadRequest(seq uint64, size int, extra string) []byte {
	return []byte(fmt.Sprintf("GET /download?seed=%d&size=%d HTTP/1.1\r\n%s%s\r\n", seq, size, host, extra))
}

// fileDownloadRequest asks for a download the handler serves from a file.
func fileDownloadRequest(seq uint64, size int, extra string) []byte {
	return []byte(fmt.Sprintf("GET /download?seed=%d&size=%d&file=1 HTTP/1.1\r\n%s%s\r\n", seq, size, host, extra))
}

// chunkedDownloadRequest asks for a download whose length the handler
// does not declare: it comes chunked.
func chunkedDownloadRequest(seq uint64, size int, extra string) []byte {
	return []byte(fmt.Sprintf("GET /download?seed=%d&size=%d&chunked=1 HTTP/1.1\r\n%s%s\r\n", seq, size, host, extra))
}

// patternOutcome checks a download: status, declared length (-1 when
// chunked) and every byte.
func patternOutcome(resp *http.Response, seq uint64, size int, chunked bool, start time.Time) outcome {
	defer resp.Body.Close()
	want := int64(size)
	if chunked {
		want = -1
	}
	if resp.StatusCode == http.StatusOK && resp.ContentLength != want {
		return failure(ErrMismatch, fmt.Errorf("%w: Content-Length %d, want %d", errMismatch, resp.ContentLength, want))
	}
	_, match, err := verifyPattern(resp.Body, seq, int64(size), make([]byte, 32<<10))
	return checked(resp, http.StatusOK, err, match, start)
}

var (
	streamRequest = []byte("GET /stream HTTP/1.1\r\n" + host + "\r\n")
	streamBody    = streamLines(streamChunks)
	eventsRequest = []byte("GET /events HTTP/1.1\r\n" + host + "\r\n")
	eventsBody    = streamLines(subscriberEvents)
)

// streamLines is the body of a stream of n chunks.
func streamLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, streamLine, i, n)
	}
	return b.String()
}

// streamOp asks for a stream and checks that it came chunked and whole.
func streamOp(request []byte, body string) func(c *conn, _ uint64) (outcome, bool) {
	return func(c *conn, _ uint64) (outcome, bool) {
		start := time.Now()
		resp, err := c.roundTrip(request)
		if err != nil {
			return failure(classify(err), err), false
		}
		if resp.StatusCode == http.StatusOK && (len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked") {
			_ = resp.Body.Close()
			return failure(ErrMismatch, fmt.Errorf("%w: streamed without chunked framing (%v)", errMismatch, resp.TransferEncoding)), false
		}
		return bodyOutcome(resp, http.StatusOK, body, start), !resp.Close
	}
}

var slowRequest = []byte("GET /slow HTTP/1.1\r\n" + host + "\r\n")

func slowHandlerOp(c *conn, _ uint64) (outcome, bool) {
	start := time.Now()
	resp, err := c.roundTrip(slowRequest)
	if err != nil {
		return failure(classify(err), err), false
	}
	return bodyOutcome(resp, http.StatusOK, "slept\n", start), !resp.Close
}

// pipelinedOp writes pipelineDepth requests in one write and reads the
// answers, which must come in order: each echoes its request's number.
// The latency recorded is the batch's.
func pipelinedOp(c *conn, seq uint64) (outcome, bool) {
	start := time.Now()
	var b strings.Builder
	base := seq * pipelineDepth
	for i := range uint64(pipelineDepth) {
		fmt.Fprintf(&b, "GET /echo?i=%d HTTP/1.1\r\n%s\r\n", base+i, host)
	}
	if err := c.arm(start.Add(opTimeout)); err != nil {
		return failure(classify(err), err), false
	}
	if _, err := io.WriteString(c.c, b.String()); err != nil {
		return failure(classify(err), err), false
	}
	var o outcome
	reusable := true
	for i := range uint64(pipelineDepth) {
		resp, err := c.readResponse(nil)
		if err != nil {
			f := failure(classify(err), err)
			f.served = o.served
			return f, false
		}
		one := bodyOutcome(resp, http.StatusOK, strconv.FormatUint(base+i, 10)+"\n", start)
		if one.failed > 0 {
			one.served, one.latency = o.served, 0
			return one, false
		}
		o.served++
		if resp.Close && i < pipelineDepth-1 {
			f := failure(ErrUnanswered, fmt.Errorf("%w: the server closed after %d of %d pipelined requests", errUnanswered, i+1, pipelineDepth))
			f.served = o.served
			return f, false
		}
		reusable = !resp.Close
	}
	o.latency = time.Since(start)
	return o, reusable
}

// greedy pipelines greedyDepth requests with large heads behind a slow
// one, on a new connection each time: parsed ahead they spend the
// server's memory budget, and while it is spent the server parses one
// request ahead and cuts off a client that leaves more than 64 KiB
// unread. The answers that come must come in order, each echoing its
// request's number; a connection that ends before the last (cut off, the
// response in flight cut with it) or a 503 followed by a close is what
// the kind expects once the budget is spent.
type greedy struct {
	addr string
	seq  uint64
}

func (g *greedy) do(ctx context.Context) outcome {
	g.seq++
	start := time.Now()
	c, err := dialArmed(ctx, g.addr, start)
	if err != nil {
		return failure(classify(err), err)
	}
	defer c.close()
	var b strings.Builder
	b.Write(slowRequest)
	base, pad := g.seq*greedyDepth, strings.Repeat("p", greedyHeadBytes)
	for i := range uint64(greedyDepth) {
		fmt.Fprintf(&b, "GET /echo?i=%d HTTP/1.1\r\n%sX-Pad: %s\r\n\r\n", base+i, host, pad)
	}
	// A client cut off may be so before its write ends: what it reads
	// says what happened.
	_, _ = io.WriteString(c.c, b.String())
	var o outcome
	for i := range greedyDepth + 1 {
		var one outcome
		resp, err := c.readResponse(nil)
		switch {
		case err != nil:
			one = failure(classify(err), err)
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Close:
			_ = resp.Body.Close()
			o.expected = 1 // a head refused while the budget was spent
			return o
		case i == 0:
			one = bodyOutcome(resp, http.StatusOK, "slept\n", start)
		default:
			one = bodyOutcome(resp, http.StatusOK, strconv.FormatUint(base+uint64(i-1), 10)+"\n", start)
		}
		if one.errKind == ErrReset || one.errKind == ErrShort {
			o.expected = 1 // cut off, the response in flight with it
			return o
		}
		if one.failed > 0 {
			one.served = o.served
			return one
		}
		o.served++
	}
	o.latency = time.Since(start)
	return o
}

func (*greedy) close() {}

// slowReader is a slow client that the server must serve: it sends its
// head a byte every dribblePause (about 0.9 s in all, within the 2 s
// request timeout) and reads the response slowReadChunk every
// slowReadPause (about 1 s for slowReaderBytes, never idle near the
// 10 s channel timeout) through a small receive window, so that the
// response backs up in the server, past the kernel's send buffer and
// outbufOverflow: this is the kind that makes outputs spill. Every other
// response is chunked, and spills once the socket backs up; the others
// declare a Content-Length longer than outbufHighWatermark, so that the
// writer waits in memory until the rest fits under it, then spills that
// tail if the socket still backs up. A new connection each time.
type slowReader struct {
	addr string
	seq  uint64
}

func (s *slowReader) do(ctx context.Context) outcome {
	s.seq++
	start := time.Now()
	t := &throttled{}
	c, err := dial(ctx, s.addr, t, slowReaderRcvbuf)
	if err != nil {
		return failure(classify(err), err)
	}
	defer c.close()
	t.r = c.c
	if err := c.arm(start.Add(opTimeout)); err != nil {
		return failure(classify(err), err)
	}
	// Every other response is chunked, the first included: its writer
	// does not know the rest will not fit under outbufHighWatermark, so
	// it spills as soon as the socket backs up, during the read stall.
	// With a Content-Length the writer waits in memory and spills only
	// the tail, which may not back up at all once the kernel's send
	// buffer has grown; a short soak would then have no spilled output.
	// Every fourth is a file (http.ServeContent), which carhop sends from
	// the file: a slow client then holds a descriptor of it, not output.
	chunked := s.seq%2 == 1
	request := downloadRequest
	switch {
	case chunked:
		request = chunkedDownloadRequest
	case s.seq%4 == 0:
		request = fileDownloadRequest
	}
	head := request(s.seq, slowReaderBytes, "Connection: close\r\n")
	// Each byte is due at a fixed time from the first, rather than a
	// pause after the last: on a loaded machine (a -race build beside
	// other tests) timers fire late, and a hundred late pauses added up
	// past the request timeout.
	begin := time.Now()
	for i := range head {
		if _, err := c.c.Write(head[i : i+1]); err != nil {
			return failure(classify(err), err)
		}
		if !sleep(ctx, time.Until(begin.Add(time.Duration(i+1)*dribblePause))) {
			return outcome{}
		}
	}
	resp, err := c.readResponse(nil)
	if err != nil {
		return failure(classify(err), err)
	}
	return patternOutcome(resp, s.seq, slowReaderBytes, chunked, start)
}

func (*slowReader) close() {}

// throttled reads nothing for slowReadStall, then at most
// slowReadChunk per slowReadPause.
type throttled struct {
	r       io.Reader
	started bool
}

func (t *throttled) Read(p []byte) (int, error) {
	if !t.started {
		// The stall is what keeps the server's send buffer small (its
		// autotuning grows it with acknowledged data) so that the
		// output piles up in carhop's buffer, past outbufOverflow.
		t.started = true
		time.Sleep(slowReadStall)
	}
	time.Sleep(slowReadPause)
	return t.r.Read(p[:min(len(p), slowReadChunk)])
}

// slowloris opens slowlorisConns connections whose heads never end
// (load.SlowClients), waits past the request timeout and counts the ones
// the server cut (with a 408 the clients swallow): those are expected
// refusals; any still open is an ErrNotClosed.
type slowloris struct{ addr string }

// slowlorisWait is how long a round lasts: the request timeout, the
// cleanup pass that notices it, and a margin for a loaded machine.
const slowlorisWait = requestTimeout + 2*cleanupInterval + time.Second

func (s *slowloris) do(ctx context.Context) outcome {
	stop, err := load.SlowClients(ctx, s.addr, slowlorisConns, slowlorisPause)
	if err != nil {
		return failure(classify(err), err)
	}
	ok := sleep(ctx, slowlorisWait)
	r := stop()
	if !ok {
		return outcome{}
	}
	o := outcome{expected: r.ClosedByServer}
	if r.StillOpen > 0 {
		o.failed, o.errKind = r.StillOpen, ErrNotClosed
		o.err = fmt.Errorf("%d of %d slowloris connections still open after %v", r.StillOpen, r.Opened, slowlorisWait)
	}
	return o
}

func (*slowloris) close() {}

// sleep waits d or until ctx ends, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
