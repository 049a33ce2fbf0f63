package soak

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// aborter leaves in the middle of a response and checks that the server
// noticed: on a new connection it asks /hang, whose handler flushes
// "started" and then either waits on its request's context or writes
// without end, reads that line, and closes the connection, with a reset
// every other time. Then it asks /hang-status on a kept-alive
// connection of its own until the handler reports its context cancelled
// (and, for a writer, its Write failing). The latency is from the close
// to the report.
type aborter struct {
	addr   string
	worker int
	seq    uint64
	status *conn
}

func (a *aborter) do(ctx context.Context) outcome {
	a.seq++
	id := fmt.Sprintf("%d-%d", a.worker, a.seq)
	write, reset := a.seq%2 == 0, a.seq/2%2 == 1
	c, err := dial(ctx, a.addr, nil, 0)
	if err != nil {
		return failure(classify(err), err)
	}
	target := "/hang?id=" + id
	if write {
		target += "&write=1"
	}
	// The body is not closed: Close would read a writer's endless body
	// to its end. Closing the connection ends it.
	resp, err := c.roundTrip([]byte("GET " + target + " HTTP/1.1\r\n" + host + "\r\n")) //nolint:bodyclose // see above
	if err == nil {
		var line string
		line, err = bufio.NewReader(resp.Body).ReadString('\n')
		if err == nil && (resp.StatusCode != http.StatusOK || line != hangStarted) {
			c.close()
			return statusFailure(resp, fmt.Errorf("%w: %s %q, want 200 and %q", errStatus, resp.Status, line, hangStarted))
		}
	}
	pid := ""
	if resp != nil {
		pid = resp.Header.Get(pidHeader)
	}
	if err != nil {
		c.close()
		return failure(classify(err), err)
	}
	if reset {
		_ = c.raw.(*net.TCPConn).SetLinger(0)
	}
	left := time.Now()
	c.close()
	return a.await(ctx, id, pid, left)
}

// await asks for id's status until the handler, which ran in process
// pid, has seen the client leave.
func (a *aborter) await(ctx context.Context, id, pid string, left time.Time) outcome {
	req := []byte("GET /hang-status?id=" + id + " HTTP/1.1\r\n" + host + "\r\n")
	for {
		if a.status == nil {
			c, err := dial(ctx, a.addr, nil, 0)
			if err != nil {
				return failure(classify(err), err)
			}
			a.status = c
		}
		resp, err := a.status.roundTrip(req)
		if err != nil {
			a.close()
			return failure(classify(err), err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.Close {
			a.close()
		}
		switch state := string(body); {
		case err != nil:
			return failure(classify(err), err)
		case resp.StatusCode != http.StatusOK:
			return statusFailure(resp, fmt.Errorf("%w: %s for the status of %s", errStatus, resp.Status, id))
		case resp.Header.Get(pidHeader) != pid:
			// A graceful restart: the process that ran the handler has
			// handed the sockets over, and its state with it is gone.
			return failure(ErrElsewhere, fmt.Errorf("the status of %s asked of process %s, its handler ran in %s",
				id, resp.Header.Get(pidHeader), pid))
		case state == hangCancelled:
			return outcome{served: 1, latency: time.Since(left)}
		case state != hangRunning:
			return failure(ErrMismatch, fmt.Errorf("%w: handler of %s reports %q", errMismatch, id, state))
		case time.Since(left) > opTimeout:
			return failure(ErrTimeout, fmt.Errorf("handler of %s still running %v after its client left", id, opTimeout))
		}
		if !sleep(ctx, hangPoll) {
			return outcome{}
		}
	}
}

func (a *aborter) close() {
	if a.status != nil {
		a.status.close()
		a.status = nil
	}
}

// The states /hang-status reports.
const (
	hangStarted   = "started\n"
	hangRunning   = "running\n"
	hangCancelled = "cancelled\n"
	hangExpired   = "expired: the client's leaving was never noticed\n"
	hangUnknown   = "unknown\n"
)

// hangs are the /hang handlers a client has not yet heard the end of.
type hangs struct{ m sync.Map } // id -> *hang

type hang struct {
	done  chan struct{}
	state string // set before done closes
}

// serveHang registers id, flushes hangStarted and then waits for the
// request's context to end, or, with write=1, writes until a Write
// fails, which must come with the context's end. It gives up after
// hangLimit (or hangLimitBytes written) and records that.
func (h *hangs) serveHang(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	hg := &hang{done: make(chan struct{})}
	h.m.Store(id, hg)
	defer close(hg.done)
	_, _ = io.WriteString(w, hangStarted)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	ctx := r.Context()
	limit := time.NewTimer(hangLimit)
	defer limit.Stop()
	if r.URL.Query().Get("write") == "" {
		select {
		case <-ctx.Done():
			hg.state = hangCancelled
		case <-limit.C:
			hg.state = hangExpired
		}
		return
	}
	chunk := []byte(strings.Repeat("w", 32<<10))
	failed := false
	for written := 0; written < hangLimitBytes && !failed; written += len(chunk) {
		_, err := w.Write(chunk)
		failed = err != nil
		select {
		case <-limit.C:
			hg.state = hangExpired
			return
		default:
		}
	}
	if !failed {
		hg.state = hangExpired
		return
	}
	// A Write failed because the client left: the context ends with it.
	select {
	case <-ctx.Done():
		hg.state = hangCancelled
	case <-limit.C:
		hg.state = "a Write failed, and the context did not end\n"
	}
}

// serveStatus reports a /hang handler's state, and forgets it once it
// has ended.
func (h *hangs) serveStatus(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	v, ok := h.m.Load(id)
	if !ok {
		_, _ = io.WriteString(w, hangUnknown)
		return
	}
	hg := v.(*hang)
	select {
	case <-hg.done:
		h.m.Delete(id)
		_, _ = io.WriteString(w, hg.state)
	default:
		_, _ = io.WriteString(w, hangRunning)
	}
}
