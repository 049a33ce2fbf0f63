package soak

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTurnedAway(t *testing.T) {
	signal := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
	before, after := signal.Add(-time.Second), signal.Add(time.Millisecond)
	tests := []struct {
		name  string
		kind  string
		wrote time.Time
		read  int64
		how   string
		lead  time.Duration
	}{
		{"503 to a new connection", ErrBusy, after, 120, TurnedBusy, -time.Millisecond},
		{"idle connection closed as the request came", ErrShort, after, 0, TurnedClosed, -time.Millisecond},
		{"reset, nothing back", ErrReset, after, 0, TurnedClosed, -time.Millisecond},
		{"nothing back, written long before", ErrShort, before, 0, TurnedClosed, time.Second},
		{"cut inside a response", ErrShort, after, 10, "", -time.Millisecond},
		{"reset inside a response", ErrReset, before, 1, "", time.Second},
		{"behind a close", ErrUnanswered, before, 500, TurnedUnanswered, time.Second},
		{"nothing listens", ErrRefused, before, 0, TurnedRefused, time.Second},
		{"wrong content", ErrMismatch, after, 0, "", -time.Millisecond},
		{"timeout", ErrTimeout, after, 0, "", -time.Millisecond},
		{"wrong status", ErrStatus, after, 0, "", -time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			how, lead := turnedAway(failure(tt.kind, nil), &wire{wrote: tt.wrote, read: tt.read}, signal)
			assert.Equal(t, tt.how, how)
			assert.Equal(t, tt.lead, lead)
		})
	}
}

// TestDrainTallyJudgesAfterTheSignal runs a drain worker against a
// client whose failures are scripted: before the signal every failure is
// an error; after it, what turnedAway allows is counted as turned away,
// but nothing back for a request written more than drainMargin before the
// signal is ErrDropped.
func TestDrainTallyJudgesAfterTheSignal(t *testing.T) {
	var st stages
	c := &scripted{}
	c.steps = []func(w *wire) outcome{
		func(*wire) outcome { return failure(ErrShort, errors.New("before the signal")) },
		func(w *wire) outcome {
			st.signalled.Store(time.Now().UnixNano())
			w.wrote, w.read = time.Now(), 0
			return failure(ErrShort, io.EOF) // closed idle, nothing back
		},
		func(w *wire) outcome { w.read = 9; return failure(ErrBusy, nil) },
		func(*wire) outcome { return outcome{served: 1} },
		func(*wire) outcome { return failure(ErrUnanswered, nil) },
		func(w *wire) outcome {
			w.wrote, w.read = time.Now().Add(-time.Second), 0
			return failure(ErrReset, errors.New("dropped"))
		},
		func(w *wire) outcome { w.read = 3; return failure(ErrShort, io.ErrUnexpectedEOF) },
		func(w *wire) outcome {
			// Within the margin: the keep-alive race, counted.
			w.wrote, w.read = time.Unix(0, st.signalled.Load()).Add(-5*time.Millisecond), 0
			return failure(ErrShort, io.EOF)
		},
		// A 503 is an answer: the client knows its request did not run,
		// however long ago it sent it.
		func(w *wire) outcome { w.read = 120; return failure(ErrBusy, nil) },
		func(*wire) outcome { st.stopping.Store(true); return outcome{expected: 1} },
	}
	d := &drainTally{}
	d.work(context.Background(), c, &st)

	r := d.result(Small)
	assert.Equal(t, 1, r.Served)
	assert.Equal(t, 1, r.Expected)
	assert.Equal(t, map[string]int{TurnedClosed: 2, TurnedBusy: 2, TurnedUnanswered: 1}, r.TurnedAway)
	assert.Equal(t, map[string]int{ErrShort: 2, ErrDropped: 1}, r.Errors)
	assert.True(t, c.closed)
	assert.True(t, d.turned)
	assert.Equal(t, 5*time.Millisecond, d.earliest, "the longest lead of a request that got nothing back")
	assert.Equal(t, 1, d.early, "got nothing back though written before the signal")
}

// TestDrainTallyInARestart: between the SIGHUP and the SIGTERM both
// processes hold the sockets, so a 503 or a refusal is an error; a close
// as the request came, the requests behind a close and a question the
// new process cannot answer are turned away in the restart. After the
// SIGTERM a refusal is turned away in the drain.
func TestDrainTallyInARestart(t *testing.T) {
	var st stages
	c := &scripted{}
	c.steps = []func(w *wire) outcome{
		func(w *wire) outcome {
			st.restarted.Store(time.Now().UnixNano())
			w.wrote, w.read = time.Now(), 0
			return failure(ErrShort, io.EOF)
		},
		func(w *wire) outcome { w.read = 80; return failure(ErrBusy, nil) },
		func(*wire) outcome { return failure(ErrRefused, nil) },
		func(*wire) outcome { return failure(ErrUnanswered, nil) },
		func(*wire) outcome { return failure(ErrElsewhere, nil) },
		func(*wire) outcome { return outcome{served: 1} },
		func(*wire) outcome {
			st.signalled.Store(time.Now().UnixNano())
			return failure(ErrRefused, nil)
		},
		func(*wire) outcome { st.stopping.Store(true); return outcome{served: 1} },
	}
	d := &drainTally{}
	d.work(context.Background(), c, &st)

	r := d.result(Upgrade)
	assert.Equal(t, 2, r.Served)
	assert.Equal(t, map[string]int{TurnedClosed: 1, TurnedUnanswered: 1, TurnedReplaced: 1}, r.InRestart)
	assert.Equal(t, map[string]int{TurnedRefused: 1}, r.TurnedAway)
	assert.Equal(t, map[string]int{ErrBusy: 1, ErrRefused: 1}, r.Errors, "no one is refused while the sockets pass over")
}

// scripted is a client whose every operation is the next step.
type scripted struct {
	steps  []func(w *wire) outcome
	closed bool
}

func (s *scripted) do(ctx context.Context) outcome {
	w, _ := ctx.Value(wireKey{}).(*wire)
	step := s.steps[0]
	s.steps = s.steps[1:]
	return step(w)
}

func (s *scripted) close() { s.closed = true }

func TestReadResponseNamesRequestsLeftUnanswered(t *testing.T) {
	const (
		keep    = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		closing = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	)
	tests := []struct {
		name    string
		wire    string
		unanswd bool // the second read is errUnanswered
	}{
		{"end after a response that said close", closing, true},
		{"end after a kept-alive response", keep, false},
		{"end inside the next response after a close", closing + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &conn{br: bufio.NewReader(strings.NewReader(tt.wire))}
			resp, err := c.readResponse(nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, "ok", string(body))
			_, err = c.readResponse(nil)
			require.Error(t, err)
			assert.Equal(t, tt.unanswd, errors.Is(err, errUnanswered), "%v", err)
			if tt.unanswd {
				assert.Equal(t, ErrUnanswered, classify(err))
			} else {
				assert.Equal(t, ErrShort, classify(err))
			}
		})
	}
}

func TestWatchedReportsToTheWire(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := &wire{read: 7}
	c := &watched{Conn: a, w: w}
	go func() {
		buf := make([]byte, 5)
		_, _ = io.ReadFull(b, buf)
		_, _ = b.Write([]byte("abc"))
	}()
	start := time.Now()
	_, err := c.Write([]byte("hello"))
	require.NoError(t, err)
	assert.False(t, w.wrote.Before(start))
	assert.Zero(t, w.read, "a write begins an exchange: nothing read since")
	buf := make([]byte, 8)
	n, err := c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, int64(n), w.read)
}

func TestStatusFailureNamesABusyServer(t *testing.T) {
	busy := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}}}
	bare := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}}
	teapot := &http.Response{StatusCode: http.StatusTeapot, Header: http.Header{"Retry-After": {"1"}}}
	assert.Equal(t, ErrBusy, statusFailure(busy, errStatus).errKind)
	assert.Equal(t, ErrStatus, statusFailure(bare, errStatus).errKind, "a 503 without Retry-After")
	assert.Equal(t, ErrStatus, statusFailure(teapot, errStatus).errKind)
}

func TestDrainReport(t *testing.T) {
	res := sampleResult()
	res.Drain = &DrainResult{Lead: 2 * time.Second, DrainTime: 2500 * time.Millisecond, Exited: true, ExitCode: 0,
		EarliestClosed: 2600 * time.Microsecond, ClosedEarly: 2,
		Kinds: []DrainKind{
			{Kind: Small, Served: 300, TurnedAway: map[string]int{TurnedBusy: 40, TurnedClosed: 2}},
			{Kind: Pipelined, Served: 90, TurnedAway: map[string]int{TurnedUnanswered: 9},
				Errors: map[string]int{ErrShort: 1}, Examples: []string{"short body: unexpected EOF"}},
		}}
	assert.Equal(t, 1, res.Drain.Errors())
	assert.False(t, res.Drain.OK(), "an error")
	var b bytes.Buffer
	require.NoError(t, Table(&b, res))
	out := b.String()
	assert.Contains(t, out, "drain under load (SIGTERM after 2s): 1 unexpected errors; server exited with status 0 2.50 s after SIGTERM; "+
		"51 exchanges turned away (2 got nothing back though written before the signal, the earliest 2.6 ms before it); temp files left 0")
	assert.Contains(t, out, "drain, pipelined: short body: unexpected EOF")
	var md bytes.Buffer
	Markdown(&md, res)
	assert.Contains(t, md.String(), "| small | 300 | 0 | 40 503, 2 closed idle | 0 |")

	res.Drain.Kinds[1].Errors, res.Drain.Kinds[1].Examples = nil, nil
	assert.True(t, res.Drain.OK())
	res.Drain.ExitCode = 1
	assert.False(t, res.Drain.OK(), "the grace period ran out")
	res.Drain.ExitCode, res.Drain.TempFilesLeft = 0, 1
	assert.False(t, res.Drain.OK(), "a file left behind")
	res.Drain.TempFilesLeft, res.Drain.Exited = 0, false
	assert.False(t, res.Drain.OK(), "still running")
}
