package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// badCase is one malformed request and the exact status carhop must
// answer it with before closing the connection.
type badCase struct {
	name string
	in   string
	want int
}

const chunkedHead = "POST /upload HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n"

// badCases rotate: each bad worker starts at its own offset. They are a
// few of each class reliability/smuggling_test.go proves byte for byte;
// here the point is that they keep being refused, exactly, under load.
var badCases = []badCase{
	{"bare LF", "GET / HTTP/1.1\nHost: soak\n\n", http.StatusBadRequest},
	{"missing Host", "GET / HTTP/1.1\r\n\r\n", http.StatusBadRequest},
	{"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", http.StatusBadRequest},
	{"CL and TE", "POST /upload HTTP/1.1\r\n" + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", http.StatusBadRequest},
	{"CL with plus", "POST /upload HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\nhello", http.StatusBadRequest},
	{"NUL in value", "GET / HTTP/1.1\r\n" + host + "X: a\x00b\r\n\r\n", http.StatusBadRequest},
	{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", http.StatusBadRequest},
	{"chunk size with plus", chunkedHead + "+5\r\nhello\r\n0\r\n\r\n", http.StatusBadRequest},
	{"body over the limit", fmt.Sprintf("POST /upload HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n", host, maxBodyBytes+1), http.StatusRequestEntityTooLarge},
	{"head over the limit", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", maxHeaderBytes) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
	{"unsupported transfer coding", "POST /upload HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", http.StatusNotImplemented},
	{"CONNECT with content", "CONNECT soak:443 HTTP/1.1\r\nHost: soak:443\r\nContent-Length: 5\r\n\r\nhello", http.StatusBadRequest},
	{"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", http.StatusHTTPVersionNotSupported},
}

// BadCase is one malformed request's record over the run.
type BadCase struct {
	Name string `json:"name"`
	Want int    `json:"want"`
	// Sent counts the attempts that came to an answer or a failure;
	// Exact those answered with Want and then closed.
	Sent  int         `json:"sent"`
	Exact int         `json:"exact"`
	Got   map[int]int `json:"got,omitempty"` // statuses other than Want
}

// badClient sends one malformed request per operation on a new
// connection, in a single write, and expects the exact status, a
// complete response and the connection closed after it.
type badClient struct {
	addr string
	next int
	// cases is this worker's record, indexed like badCases.
	cases []BadCase
}

// closeWait bounds the wait for the server's close after a refusal.
const closeWait = 5 * time.Second

func (b *badClient) do(ctx context.Context) outcome {
	if b.cases == nil {
		b.cases = make([]BadCase, len(badCases))
		for i, bc := range badCases {
			b.cases[i] = BadCase{Name: bc.name, Want: bc.want}
		}
	}
	i := b.next % len(badCases)
	b.next++
	o := b.one(ctx, badCases[i])
	if ctx.Err() != nil {
		return outcome{}
	}
	rec := &b.cases[i]
	rec.Sent++
	if o.expected > 0 {
		rec.Exact++
	}
	return o
}

func (b *badClient) one(ctx context.Context, bc badCase) outcome {
	start := time.Now()
	c, err := dial(ctx, b.addr, nil, 0)
	if err != nil {
		return failure(classify(err), err)
	}
	defer c.close()
	resp, err := c.roundTrip([]byte(bc.in))
	if err != nil {
		return failure(classify(err), fmt.Errorf("%s: %w", bc.name, err))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode != bc.want:
		b.gotOther(bc, resp.StatusCode)
		return statusFailure(resp, fmt.Errorf("%s: %w: %s, want %d", bc.name, errStatus, resp.Status, bc.want))
	case err != nil:
		return failure(classify(err), fmt.Errorf("%s: %w", bc.name, err))
	}
	lat := time.Since(start)
	if err := c.arm(time.Now().Add(closeWait)); err != nil {
		return failure(classify(err), err)
	}
	var one [1]byte
	n, err := c.br.Read(one[:])
	// A reset after the whole response is a close too: the server closed
	// with bytes of ours unread.
	if closed := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET); n > 0 || !closed {
		return failure(ErrNotClosed, fmt.Errorf("%s: connection not closed after %d: read %d bytes: %w", bc.name, bc.want, n, err))
	}
	return outcome{expected: 1, latency: lat}
}

func (b *badClient) gotOther(bc badCase, status int) {
	for i := range b.cases {
		if b.cases[i].Name == bc.name {
			if b.cases[i].Got == nil {
				b.cases[i].Got = map[int]int{}
			}
			b.cases[i].Got[status]++
		}
	}
}

func (*badClient) close() {}
