package adapter

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResponseControllerDeadlines runs handlers that use
// http.ResponseController's deadlines and full duplex. Each reports what
// its calls returned (as text, so that the table can say it), and the
// client checks what reached it.
func TestResponseControllerDeadlines(t *testing.T) {
	past := func() time.Time { return time.Now().Add(-time.Second) }
	tests := []struct {
		name    string
		request string
		handler func(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) string
		report  string // what the handler reports
		status  int    // 0: no response at all, the connection closes
		body    string
		broken  bool // the body breaks off and the connection closes
	}{
		{
			name: "write after the write deadline fails and breaks the response",
			handler: func(w http.ResponseWriter, _ *http.Request, rc *http.ResponseController) string {
				_ = rc.SetWriteDeadline(past())
				_, err := io.WriteString(w, "late")
				return fmt.Sprint(errors.Is(err, os.ErrDeadlineExceeded), errors.Is(rc.Flush(), os.ErrDeadlineExceeded))
			},
			report: "true true",
		},
		{
			name: "flush after the write deadline fails, what was sent before stays sent",
			handler: func(w http.ResponseWriter, _ *http.Request, rc *http.ResponseController) string {
				_, _ = io.WriteString(w, "early ")
				flushed := rc.Flush()
				_ = rc.SetWriteDeadline(past())
				_, err := io.WriteString(w, "late")
				return fmt.Sprint(flushed, errors.Is(err, os.ErrDeadlineExceeded))
			},
			report: "<nil> true",
			status: http.StatusOK,
			body:   "early ", // then the chunked body breaks off: no last chunk
			broken: true,
		},
		{
			name: "a zero write deadline clears it, as a streaming handler does",
			handler: func(w http.ResponseWriter, _ *http.Request, rc *http.ResponseController) string {
				_ = rc.SetWriteDeadline(past())
				cleared := rc.SetWriteDeadline(time.Time{})
				_, err := io.WriteString(w, "streamed")
				return fmt.Sprint(cleared, err, rc.Flush())
			},
			report: "<nil> <nil> <nil>",
			status: http.StatusOK,
			body:   "streamed",
		},
		{
			name:    "a future write deadline does not get in the way",
			request: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody",
			handler: func(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) string {
				set := rc.SetWriteDeadline(time.Now().Add(time.Hour))
				b, err := io.ReadAll(r.Body)
				_, werr := w.Write(b)
				return fmt.Sprint(set, err, werr)
			},
			report: "<nil> <nil> <nil>",
			status: http.StatusOK,
			body:   "body",
		},
		{
			name:    "body reads after the read deadline fail; clearing it reads the body whole",
			request: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody",
			handler: func(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) string {
				set := rc.SetReadDeadline(past())
				_, late := io.ReadAll(r.Body)
				_, lateCopy := io.Copy(io.Discard, r.Body) // WriteTo too
				_ = rc.SetReadDeadline(time.Time{})
				b, err := io.ReadAll(r.Body)
				_, _ = w.Write(b)
				return fmt.Sprint(set, errors.Is(late, os.ErrDeadlineExceeded), errors.Is(lateCopy, os.ErrDeadlineExceeded), err)
			},
			report: "<nil> true true <nil>",
			status: http.StatusOK,
			body:   "body",
		},
		{
			name: "a read deadline without a body is accepted",
			handler: func(_ http.ResponseWriter, r *http.Request, rc *http.ResponseController) string {
				set := rc.SetReadDeadline(past())
				n, err := r.Body.Read(make([]byte, 1))
				return fmt.Sprint(set, n, err)
			},
			report: "<nil> 0 EOF",
			status: http.StatusOK,
		},
		{
			name:    "full duplex: the body can be read after the response began",
			request: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nduplex",
			handler: func(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) string {
				enabled := rc.EnableFullDuplex()
				_, _ = io.WriteString(w, "echo: ")
				flushed := rc.Flush()
				b, err := io.ReadAll(r.Body)
				_, _ = w.Write(b)
				return fmt.Sprint(enabled, flushed, err)
			},
			report: "<nil> <nil> <nil>",
			status: http.StatusOK,
			body:   "echo: duplex",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reports := make(chan string, 1)
			_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reports <- tc.handler(w, r, http.NewResponseController(w))
			}))
			c := dial(t, addr)
			req := tc.request
			if req == "" {
				req = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
			}
			c.send(req)
			select {
			case got := <-reports:
				assert.Equal(t, tc.report, got)
			case <-time.After(10 * time.Second):
				t.Fatal("the handler did not return")
			}
			resp, err := http.ReadResponse(c.r, nil)
			if tc.status == 0 {
				require.Error(t, err, "no response after a failed write")
				return
			}
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
			b, err := io.ReadAll(resp.Body)
			assert.Equal(t, tc.body, string(b))
			if tc.broken {
				require.Error(t, err)
				assert.True(t, c.closed())
			} else {
				require.NoError(t, err)
			}
		})
	}
}

// TestWriteDeadlineEndsPausedWrite: a handler writing to a client that
// reads nothing is paused by backpressure; its write deadline ends the
// pause with os.ErrDeadlineExceeded rather than leaving the worker held
// until the channel timeout.
func TestWriteDeadlineEndsPausedWrite(t *testing.T) {
	result := make(chan error, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		chunk := make([]byte, 64<<10)
		var err error
		for i := 0; i < 4096 && err == nil; i++ { // 256 MiB at most: far past any buffer
			_, err = w.Write(chunk)
		}
		result <- err
	}), WithOutbufOverflow(1<<20), WithOutbufHighWatermark(4<<20))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	select {
	case err := <-result:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(20 * time.Second):
		t.Fatal("the write deadline did not end the paused write")
	}
}

func TestDeadlineSet(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		at     time.Time
		passed bool
	}{
		{"none", time.Time{}, false},
		{"past", now.Add(-time.Second), true},
		{"before 1970", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"before UnixNano's range", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"future", now.Add(time.Hour), false},
		{"beyond UnixNano's range", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d deadline
			d.set(tc.at)
			assert.Equal(t, tc.passed, d.passed())
			assert.Equal(t, tc.at.IsZero(), d.get().IsZero())
		})
	}
}
