package accesslog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/accesslog"
	"github.com/carhop/carhop/adapter"
	"github.com/carhop/carhop/internal/leakcheck"
	"github.com/carhop/carhop/internal/syncbuf"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// syncBuffer is a log destination the test reads while servers write.
type syncBuffer struct{ syncbuf.Buffer }

// records returns the JSON records logged so far, waiting (boundedly) for
// want of them: the record is written after the response went out.
func (s *syncBuffer) records(t *testing.T, want int) []map[string]any {
	t.Helper()
	var out []map[string]any
	require.Eventually(t, func() bool {
		text := s.String()
		out = out[:0]
		for line := range strings.Lines(text) {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m), line)
			out = append(out, m)
		}
		return len(out) >= want
	}, 10*time.Second, 5*time.Millisecond)
	require.Len(t, out, want)
	return out
}

// servers runs h behind the access log on a carhop server and on a
// net/http server, both on 127.0.0.1, and calls f for each.
func servers(t *testing.T, h http.HandlerFunc, f func(t *testing.T, addr string, logs *syncBuffer)) {
	t.Run("carhop", func(t *testing.T) {
		logs := &syncBuffer{}
		s, err := adapter.New(accesslog.Handler(h, logs, accesslog.JSON),
			adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(2), adapter.WithEventLoops(1),
			adapter.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		served := make(chan error, 1)
		go func() { served <- s.Serve() }()
		select {
		case <-s.Ready():
		case <-time.After(10 * time.Second):
			t.Fatal("server did not start")
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.Shutdown(ctx)
			select {
			case err := <-served:
				require.ErrorIs(t, err, http.ErrServerClosed)
			case <-time.After(10 * time.Second):
				t.Error("Serve did not return")
			}
		})
		f(t, s.Addrs()[0].String(), logs)
	})
	t.Run("net/http", func(t *testing.T) {
		logs := &syncBuffer{}
		srv := httptest.NewServer(accesslog.Handler(h, logs, accesslog.JSON))
		t.Cleanup(srv.Close)
		f(t, strings.TrimPrefix(srv.URL, "http://"), logs)
	})
}

func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestServerRecords(t *testing.T) {
	servers(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}, func(t *testing.T, addr string, logs *syncBuffer) {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/echo?x=1", strings.NewReader("twelve bytes"))
		require.NoError(t, err)
		req.Header.Set("Referer", "http://example.com/form")
		req.Header.Set("User-Agent", "accesslog-test")
		resp, err := client(t).Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())

		m := logs.records(t, 1)[0]
		host, _, err := net.SplitHostPort(m["remote"].(string))
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
		assert.Equal(t, "POST", m["method"])
		assert.Equal(t, "/echo?x=1", m["target"])
		assert.Equal(t, "HTTP/1.1", m["proto"])
		assert.InDelta(t, 200, m["status"], 0)
		assert.InDelta(t, 12, m["bytes"], 0)
		assert.Equal(t, "http://example.com/form", m["referer"])
		assert.Equal(t, "accesslog-test", m["user_agent"])
	})
}

func TestServerEarlyHintsAndFlush(t *testing.T) {
	servers(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		for i := range 3 {
			_, _ = io.WriteString(w, strings.Repeat("x", i+1))
			w.(http.Flusher).Flush()
		}
	}, func(t *testing.T, addr string, logs *syncBuffer) {
		c := dial(t, addr)
		c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
		tp := textproto.NewReader(c.r)
		line, err := tp.ReadLine()
		require.NoError(t, err)
		assert.Equal(t, "HTTP/1.1 103 Early Hints", line, "the 1xx went out first")
		_, err = tp.ReadMIMEHeader()
		require.NoError(t, err)
		resp, err := http.ReadResponse(c.r, nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "xxxxxx", string(body))
		assert.Equal(t, []string{"chunked"}, resp.TransferEncoding, "flushes made it a streamed response")

		m := logs.records(t, 1)[0]
		assert.InDelta(t, 200, m["status"], 0, "103 is not the final status")
		assert.InDelta(t, 6, m["bytes"], 0)
	})
}

func TestServerHijack(t *testing.T) {
	servers(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString(strings.ToUpper(line))
		_ = brw.Flush()
	}, func(t *testing.T, addr string, logs *syncBuffer) {
		c := dial(t, addr)
		c.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		resp, err := http.ReadResponse(c.r, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
		c.send("hello\n")
		line, err := c.r.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "HELLO\n", line)

		m := logs.records(t, 1)[0]
		assert.InDelta(t, 101, m["status"], 0)
		assert.Equal(t, true, m["hijacked"])
		assert.InDelta(t, 0, m["bytes"], 0, "bytes written to the hijacked connection are the handler's own")
	})
}

func TestServerResponseController(t *testing.T) {
	errs := make(chan [2]error, 1)
	servers(t, func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		errs <- [2]error{rc.SetReadDeadline(time.Now().Add(time.Minute)), rc.Flush()}
	}, func(t *testing.T, addr string, logs *syncBuffer) {
		resp, err := client(t).Get("http://" + addr + "/rc")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		got := <-errs
		// Without Unwrap, ResponseController would find no
		// SetReadDeadline on the wrapper: http.ErrNotSupported.
		require.NoError(t, got[0], "the server's writer is reached through Unwrap")
		require.NoError(t, got[1])
		logs.records(t, 1)
	})
}

// raw is a plain TCP client for 1xx responses and upgrades.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	t.Cleanup(func() { _ = c.Close() })
	return &raw{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *raw) send(s string) {
	r.t.Helper()
	_, err := io.WriteString(r.c, s)
	require.NoError(r.t, err)
}
