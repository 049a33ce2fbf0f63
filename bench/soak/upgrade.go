package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// upgradeProtocol is what an upgrading client asks for: a line echo over
// the hijacked connection, ended by upgradeBye.
const (
	upgradeProtocol = "soak-echo"
	upgradeBye      = "bye\n"
)

// upgrader asks for an upgrade on a new connection, its first message
// sent with the head, and the handler hijacks the connection and echoes
// upgradeMessages lines, sent upgradePause apart, until the client says
// goodbye and reads the end of the stream. The first line reaches the
// hijacker among the bytes the loop read with the request; the rest
// arrive after the loop has let the connection go.
type upgrader struct {
	addr string
	seq  uint64
}

func (u *upgrader) do(ctx context.Context) outcome {
	u.seq++
	start := time.Now()
	c, err := dialArmed(ctx, u.addr, start)
	if err != nil {
		return failure(classify(err), err)
	}
	defer c.close()
	msg := func(i int) string { return fmt.Sprintf("%d %d\n", u.seq, i) }
	head := "GET /upgrade HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: " + upgradeProtocol + "\r\n\r\n"
	if _, err := io.WriteString(c.c, head+msg(0)); err != nil {
		return failure(classify(err), err)
	}
	resp, err := c.readResponse(nil)
	if err != nil {
		return failure(classify(err), err)
	}
	_ = resp.Body.Close() // a 101 has none: what follows is the echo
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != upgradeProtocol {
		return statusFailure(resp, fmt.Errorf("%w: %s, Upgrade %q, want 101 to %s", errStatus, resp.Status, resp.Header.Get("Upgrade"), upgradeProtocol))
	}
	for i := range upgradeMessages {
		if i > 0 {
			if !sleep(ctx, upgradePause) {
				return outcome{}
			}
			if _, err := io.WriteString(c.c, msg(i)); err != nil {
				return failure(classify(err), err)
			}
		}
		line, err := c.br.ReadString('\n')
		if err != nil {
			return failure(classify(err), err)
		}
		if line != msg(i) {
			return failure(ErrMismatch, fmt.Errorf("%w: echo %q, want %q", errMismatch, line, msg(i)))
		}
	}
	if _, err := io.WriteString(c.c, upgradeBye); err != nil {
		return failure(classify(err), err)
	}
	switch _, err := c.br.ReadByte(); {
	case errors.Is(err, io.EOF):
		return outcome{served: 1, latency: time.Since(start)}
	case err == nil:
		return failure(ErrMismatch, fmt.Errorf("%w: bytes after the goodbye", errMismatch))
	default:
		return failure(classify(err), fmt.Errorf("waiting for the hijacker to close: %w", err))
	}
}

func (*upgrader) close() {}

// serveUpgrade hijacks the connection, switches to upgradeProtocol and
// echoes lines until upgradeBye, then closes it.
func serveUpgrade(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), upgradeProtocol) {
		http.Error(w, "want Upgrade: "+upgradeProtocol, http.StatusBadRequest)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer func() { _ = conn.Close() }()
	// A client that vanishes must not keep this goroutine.
	_ = conn.SetDeadline(time.Now().Add(opTimeout))
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + upgradeProtocol + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	for {
		line, err := rw.ReadString('\n')
		if err != nil || line == upgradeBye {
			return
		}
		_, _ = rw.WriteString(line)
		if rw.Flush() != nil {
			return
		}
	}
}
