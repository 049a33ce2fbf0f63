package channel

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hijackHarness serves /hijack by trying to hijack the connection: a
// refusal is answered as an ordinary response naming the error, which
// must precede everything the client pipelined; a hijack that succeeds
// reports its file descriptor and input on got.
func hijackHarness(t *testing.T) (*harness, chan string) {
	got := make(chan string, 1)
	h := newHarness(t, nil)
	serve := h.ch.site.Serve
	h.ch.site.Serve = plainServe(func(ch *Channel, r *Request) {
		if r.Value != "/hijack" {
			serve(ch, r, nil)
			return
		}
		before := false
		fd, unread, release, err := ch.Hijack(func() { before = true })
		if err != nil {
			assert.False(t, before, "nothing is written for a hijack that fails")
			_ = ch.Write([]byte(fmt.Sprintf("[/hijack %v]", err)), -1)
			ch.Finish(r.KeepAlive)
			return
		}
		assert.True(t, before)
		if assert.NotNil(t, release, "a hijack that succeeds has its release") {
			release()
		}
		got <- fmt.Sprintf("fd %d unread %q", fd, unread)
	})
	return h, got
}

// A request's handler may hijack the connection when nothing the client
// sent behind it has been parsed: what follows the request is the
// hijacker's, byte for byte. Once the hijack is claimed, the loop parses
// nothing more, so input arriving meanwhile stays gnet's, for Detach.
func TestChannelHijackTakesWhatFollowsUnparsed(t *testing.T) {
	h, got := hijackHarness(t)
	req := "GET /hijack HTTP/1.1\r\nHost: h\r\n\r\n"
	require.Equal(t, len(req), h.ch.Received([]byte(req)))
	require.Len(t, h.tasks, 1)
	worker := h.tasks[0]
	h.tasks = nil
	go worker()
	deadline := time.Now().Add(10 * time.Second)
	for h.ch.hijackClaimed() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	next := "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
	assert.Zero(t, h.ch.Received([]byte(next)), "nothing is parsed once a hijack is claimed")
	h.conn.held = next // gnet keeps what Received did not consume
	for h.conn.detached == 0 && time.Now().Before(deadline) {
		h.ch.Pump()
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, 1, h.conn.detached)
	h.ch.Closed()
	select {
	case r := <-got:
		assert.Equal(t, fmt.Sprintf("fd 7 unread %q", next), r)
	case <-time.After(10 * time.Second):
		t.Fatal("Hijack did not return")
	}
	assert.Empty(t, h.output(), "the pipelined request was not served")
}

// Regression: a handler hijacking a connection whose client had
// pipelined more requests behind it got the socket with those requests
// already parsed and gone (and, for one read in part, its rest), so it
// read the stream from the middle. Now the hijack fails, taking nothing;
// the request is answered as usual, then what was pipelined.
func TestChannelHijackRefusedBehindPipelinedInput(t *testing.T) {
	first := "GET /hijack HTTP/1.1\r\nHost: h\r\n\r\n"
	last := "GET /hijack HTTP/1.0\r\n\r\n"
	for _, tc := range []struct {
		name, first, behind, rest, want string
	}{
		{"a whole request", first, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n", "", "[/b ]"},
		{"part of a head", first, "GET /b HTTP/1.1\r\nHo", "st: h\r\n\r\n", "[/b ]"},
		{"part of a body", first, "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab", "cd", "[/b abcd]"},
		{"a request refused", first, "GET /b HTTP/9.9\r\nHost: h\r\n\r\n", "", "[505 "},
		{"bytes after the last request", last, "raw bytes", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, got := hijackHarness(t)
			in := tc.first + tc.behind
			require.Equal(t, len(in), h.ch.Received([]byte(in)))
			require.Len(t, h.tasks, 1)
			worker := h.tasks[0]
			h.tasks = nil
			// A hijack that wrongly goes ahead waits for the loop: play it
			// until the worker returns, releasing such a hijack.
			done := make(chan struct{})
			go func() { defer close(done); worker() }()
			playLoop(t, h, done)
			if h.conn.detached > 0 {
				t.Fatalf("the socket was handed over: %s", <-got)
			}
			h.ch.Pump()
			require.Equal(t, len(tc.rest), h.ch.Received([]byte(tc.rest)))
			h.runTasks()
			out := h.output()
			want := fmt.Sprintf("[/hijack %v]", ErrPipelined) + tc.want
			assert.Equal(t, want, out[:min(len(want), len(out))])
		})
	}
}

// hijackClaimed is the hijack a worker claimed, for tests. Any goroutine.
func (ch *Channel) hijackClaimed() *hijack {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.hijacker()
}

// playLoop plays the event loop for a worker running on a goroutine of
// its own, until done is closed: it pumps, and once the socket is
// detached for a hijack, runs gnet's close, which completes the hand-over.
func playLoop(t *testing.T, h *harness, done <-chan struct{}) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-done:
			return
		default:
		}
		require.True(t, time.Now().Before(deadline), "the worker did not return")
		h.ch.Pump()
		if h.conn.detached > 0 {
			h.ch.Closed()
		}
		runtime.Gosched()
	}
}
