package soak

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// continueOp sends an upload the way careful clients do, on a kept-alive
// connection: a head with "Expect: 100-continue", and the body only once
// the server has said 100 Continue. Every other upload is chunked, in
// chunks of varied sizes, with its hash in a trailer, and the handler
// answers with its own hash in a response trailer; the others declare a
// length over maxBodyBytes and must be refused with 413 and a close
// before the body is sent, as a server that does not read what it will
// refuse does.
func continueOp(c *conn, seq uint64) (outcome, bool) {
	if seq%2 == 1 {
		return trailedUpload(c, seq)
	}
	return refusedUpload(c), false
}

// awaitContinue reads the interim response to a head that expects it.
func awaitContinue(c *conn) (outcome, bool) {
	resp, err := c.readResponse(nil)
	if err != nil {
		return failure(classify(err), err), false
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusContinue {
		return statusFailure(resp, fmt.Errorf("%w: %s before the body, want 100 Continue", errStatus, resp.Status)), false
	}
	return outcome{}, true
}

// trailedUpload sends continueBytes chunked after the 100 Continue, the
// body's hash in the X-Sum trailer, and checks the answer: the hash and
// length in the body, "trailer ok", and the hash in the response's
// X-Body-Sum trailer.
func trailedUpload(c *conn, seq uint64) (outcome, bool) {
	start := time.Now()
	if err := c.arm(start.Add(opTimeout)); err != nil {
		return failure(classify(err), err), false
	}
	head := "POST /trailed HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
	if _, err := io.WriteString(c.c, head); err != nil {
		return failure(classify(err), err), false
	}
	if o, ok := awaitContinue(c); !ok {
		return o, false
	}
	body := newPattern(seq, continueBytes)
	sum := sha256.New()
	buf := make([]byte, maxContinueChunk)
	for i := uint64(0); ; i++ {
		// Chunk sizes from 1 byte to maxContinueChunk, different each
		// upload, so that chunk boundaries fall anywhere in the reads.
		size := 1 + int((seq*31+i*7919)%maxContinueChunk)
		n, _ := io.ReadFull(body, buf[:size])
		if n == 0 {
			break
		}
		sum.Write(buf[:n])
		chunk := append(append([]byte(strconv.FormatInt(int64(n), 16)+"\r\n"), buf[:n]...), "\r\n"...)
		if _, err := c.c.Write(chunk); err != nil {
			return failure(classify(err), err), false
		}
	}
	hash := hex.EncodeToString(sum.Sum(nil))
	if _, err := io.WriteString(c.c, "0\r\nX-Sum: "+hash+"\r\n\r\n"); err != nil {
		return failure(classify(err), err), false
	}
	resp, err := c.readResponse(nil)
	if err != nil {
		return failure(classify(err), err), false
	}
	o := bodyOutcome(resp, http.StatusOK, fmt.Sprintf("%s %d trailer ok\n", hash, continueBytes), start)
	if o.failed == 0 && resp.Trailer.Get("X-Body-Sum") != hash {
		return failure(ErrMismatch, fmt.Errorf("%w: response trailer X-Body-Sum %q, want %q", errMismatch, resp.Trailer.Get("X-Body-Sum"), hash)), false
	}
	return o, !resp.Close
}

// refusedUpload declares a body over maxBodyBytes, expecting 100
// Continue, and waits: the answer must be 413 and a close, with not a
// byte of the body sent.
func refusedUpload(c *conn) outcome {
	start := time.Now()
	head := fmt.Sprintf("POST /trailed HTTP/1.1\r\n%sExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", host, maxBodyBytes+1)
	resp, err := c.roundTrip([]byte(head))
	if err != nil {
		return failure(classify(err), err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		return statusFailure(resp, fmt.Errorf("%w: %s (close %v) to a body too large, want 413 and a close", errStatus, resp.Status, resp.Close))
	}
	switch _, err := c.br.ReadByte(); {
	case errors.Is(err, io.EOF):
		return outcome{expected: 1, latency: time.Since(start)}
	case err == nil:
		return failure(ErrMismatch, fmt.Errorf("%w: bytes after the 413", errMismatch))
	default:
		return failure(ErrNotClosed, fmt.Errorf("connection not closed after a 413: %w", err))
	}
}

// serveTrailed hashes the body, checks it against the X-Sum trailer and
// answers with the hash, in the body and in the X-Body-Sum trailer.
func serveTrailed(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Trailer", "X-Body-Sum")
	sum := sha256.New()
	n, err := io.Copy(sum, r.Body)
	if err != nil {
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	hash := hex.EncodeToString(sum.Sum(nil))
	if got := r.Trailer.Get("X-Sum"); got != hash {
		http.Error(w, fmt.Sprintf("trailer X-Sum %q, body hashes to %s", got, hash), http.StatusBadRequest)
		return
	}
	_, _ = fmt.Fprintf(w, "%s %d trailer ok\n", hash, n)
	w.Header().Set("X-Body-Sum", hash)
}
