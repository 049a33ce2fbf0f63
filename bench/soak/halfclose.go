package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// halfCloseDownload is the size of the download among a half-closing
// client's requests: more than one write of the server's, less than the
// socket takes, so that the end of it is still being sent when the
// server reads the EOF.
const halfCloseDownload = 256 << 10

// halfCloser sends a few requests on a new connection, among them one
// whose handler is slow and a download, then shuts down its sending side
// (shutdown(SHUT_WR), as "nc -N" does) and reads: every response must
// come, in order, and then end of file. gnet closes connections at EOF;
// carhop's channel outlives it (docs/design.md, "When the input ends").
type halfCloser struct {
	addr string
	seq  uint64
}

func (h *halfCloser) do(ctx context.Context) outcome {
	h.seq++
	start := time.Now()
	c, err := dialArmed(ctx, h.addr, start)
	if err != nil {
		return failure(classify(err), err)
	}
	defer c.close()
	echo := func(i int) string { return "GET /echo?i=" + strconv.Itoa(i) + " HTTP/1.1\r\n" + host + "\r\n" }
	reqs := echo(0) + string(slowRequest) + string(downloadRequest(h.seq, halfCloseDownload, "")) + echo(3)
	if _, err := io.WriteString(c.c, reqs); err != nil {
		return failure(classify(err), err)
	}
	if err := c.raw.(*net.TCPConn).CloseWrite(); err != nil {
		return failure(classify(err), err)
	}
	bodies := []string{"0\n", "slept\n", "", "3\n"} // the third is the download
	var o outcome
	for i, body := range bodies {
		resp, err := c.readResponse(nil)
		if err != nil {
			f := failure(classify(err), err)
			f.served = o.served
			return f
		}
		var one outcome
		if i == 2 {
			one = patternOutcome(resp, h.seq, halfCloseDownload, false, start)
		} else {
			one = bodyOutcome(resp, http.StatusOK, body, start)
		}
		if one.failed > 0 {
			one.served, one.latency = o.served, 0
			return one
		}
		o.served++
	}
	var f outcome
	var ne net.Error
	switch _, err := c.br.ReadByte(); {
	case errors.Is(err, io.EOF):
		o.latency = time.Since(start)
		return o
	case err == nil:
		f = failure(ErrMismatch, fmt.Errorf("%w: bytes after the last response", errMismatch))
	case errors.As(err, &ne) && ne.Timeout():
		f = failure(ErrNotClosed, errors.New("a half-closed client's connection stayed open after its last response"))
	default:
		f = failure(classify(err), err)
	}
	f.served = o.served
	return f
}

func (*halfCloser) close() {}
