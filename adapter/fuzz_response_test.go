package adapter

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A handler script is what FuzzResponseMatchesNetHTTP's handler does,
// decoded from the fuzzer's bytes: two bytes per step, an operation and
// its argument.
type step struct{ op, arg byte }

var (
	// The fields a script sets, each with values that mean something for
	// it. A Transfer-Encoding other than chunked or identity, or a
	// Content-Length that is not a number, is left out: net/http sends
	// them as they are beside its own framing, a malformed response,
	// where carhop drops them (docs/design.md).
	scriptFields = []struct {
		key    string
		values []string
	}{
		{"Content-Type", []string{"text/plain", "", "application/json"}},
		{"Content-Length", []string{"0", "3", "10"}},
		{"Transfer-Encoding", []string{"chunked", "identity"}},
		{"Connection", []string{"close", "keep-alive"}},
		{"Trailer", []string{"X-T"}},
		{"X-T", []string{"v"}},
		{http.TrailerPrefix + "X-P", []string{"v"}},
		{"Content-Encoding", []string{"gzip"}},
		{"Date", []string{"Mon, 02 Jan 2006 15:04:05 GMT"}},
		{"Server", []string{"mine"}},
		{"X-A", []string{"v", ""}},
		{"Cache-Control", []string{"no-store"}},
	}
	scriptCodes = []int{100, 103, 200, 201, 202, 204, 206, 301, 304, 400, 404, 418, 500, 503, 599}
	// Writes stay within 2 KiB in all, but for the large one, so that
	// both servers choose the same framing: net/http holds 2 KiB of body
	// before choosing, carhop 4 KiB (docs/design.md).
	scriptSizes = []int{0, 1, 5, 100, 300, 5000}
)

const scriptMaxSmallWrites = 6 // 6 × 300 stays under 2 KiB

func decodeScript(data []byte) []step {
	var s []step
	for i := 0; i+1 < len(data) && len(s) < 16; i += 2 {
		s = append(s, step{data[i], data[i+1]})
	}
	return s
}

// run performs the script on w, as a handler.
func runScript(w http.ResponseWriter, script []step) {
	small := 0
	for _, st := range script {
		h := w.Header()
		switch st.op % 6 {
		case 0:
			f := scriptFields[int(st.arg%16)%len(scriptFields)]
			h.Set(f.key, f.values[int(st.arg/16)%len(f.values)])
		case 1:
			h.Del(scriptFields[int(st.arg%16)%len(scriptFields)].key)
		case 2:
			w.WriteHeader(scriptCodes[int(st.arg)%len(scriptCodes)])
		case 3:
			n := scriptSizes[int(st.arg)%len(scriptSizes)]
			if n < 2048 {
				if small == scriptMaxSmallWrites {
					continue
				}
				small++
			}
			_, _ = io.WriteString(w, strings.Repeat(string(rune('a'+st.arg%26)), n))
		case 4:
			w.(http.Flusher).Flush()
		case 5:
			h.Set("X-T", "late") // a declared trailer's value, set after the body
		}
	}
}

// pipeListener hands net/http's server the far ends of in-memory pipes.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return remoteAddr }

func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
	case <-l.done:
	}
	return client
}

// netHTTPExchange sends req to a net/http server running h over a pipe,
// and reads the responses to it (interim ones, then the final one to
// the end of its body); raw is every byte read.
func netHTTPExchange(t *testing.T, h http.Handler, req []byte, method string) (rs []diffResult, raw []byte, err error) {
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	ln := newPipeListener()
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close(); <-served }()
	c := ln.dial()
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	go func() { _, _ = c.Write(req) }()
	var tee strings.Builder
	rs, err = readResponses(bufio.NewReader(io.TeeReader(c, &tee)), method, 1)
	return rs, []byte(tee.String()), err
}

// FuzzResponseMatchesNetHTTP runs a handler that follows a script (set
// and delete header fields, WriteHeader, writes, flushes, a late trailer)
// on net/http's server and on carhop, for GET, HEAD and POST over HTTP/1.1
// and 1.0, with and without a Connection field and a body the handler
// leaves unread, and requires the same response: status, header fields but
// Date, framing, body, trailers, persistence. carhop's deliberate
// differences (docs/design.md, "Checked against net/http") are set aside:
// its Server field, "Connection: close" on HTTP/1.0, and no 1xx to an
// HTTP/1.0 client.
func FuzzResponseMatchesNetHTTP(f *testing.F) {
	f.Add(byte(0), []byte{3, 2})                              // a small write
	f.Add(byte(1), []byte{0, 0x11, 3, 3, 4, 0, 3, 4})         // HEAD: set a length, write, flush, write
	f.Add(byte(2), []byte{0, 4, 0, 0x48, 3, 5, 5, 0})         // Trailer: X-T, a large write, its value late
	f.Add(byte(3), []byte{2, 1, 2, 2, 3, 3})                  // HTTP/1.0: 103, then 200 and a body
	f.Add(byte(4), []byte{0, 0x42, 0, 0x53, 3, 4, 4, 0})      // Transfer-Encoding: identity, Connection: close
	f.Add(byte(0), []byte{0, 0x31, 3, 4, 2, 10, 0, 10, 3, 3}) // a declared length broken, WriteHeader late
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		script := decodeScript(data)
		methods := []string{http.MethodGet, http.MethodHead, http.MethodPost}
		method := methods[int(kind)%len(methods)]
		proto := "HTTP/1.1"
		if kind/3%2 == 1 {
			proto = "HTTP/1.0"
		}
		conn := []string{"", "Connection: close\r\n", "Connection: keep-alive\r\n"}[kind/6%3]
		body := []string{"", "abc"}[kind/18%2] // left unread by the handler
		req := []byte(method + " /s " + proto + "\r\nHost: h\r\n" + conn +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { runScript(w, script) })

		wantR, want, wantErr := netHTTPExchange(t, h, req, method)
		u := newUnit(t, h)
		u.feed(req)
		got := u.conn.out.Bytes()
		gotR, gotErr := readResponses(bufio.NewReader(strings.NewReader(string(got))), method, 1)
		if wantErr != nil || gotErr != nil {
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("%s %s %v: net/http %v, carhop %v\nnet/http:\n%q\ncarhop:\n%q", method, proto, script, wantErr, gotErr, want, got)
			}
		}
		if proto == "HTTP/1.0" {
			// RFC 9110 §15.2: no 1xx to an HTTP/1.0 client. net/http
			// sends them; carhop does not.
			for len(wantR) > 1 && wantR[0].Status < 200 {
				wantR = wantR[1:]
			}
		}
		if len(wantR) != len(gotR) {
			t.Fatalf("%s %s script %v: %d responses from net/http, %d from carhop\nnet/http bytes: %q\ncarhop bytes:   %q",
				method, proto, script, len(wantR), len(gotR), want, got)
		}
		for i := range gotR {
			if gotR[i].Status >= 200 && gotR[i].Header.Get("Server") == "carhop" && wantR[i].Header.Get("Server") == "" {
				gotR[i].Header.Del("Server")
			}
			if proto == "HTTP/1.0" && gotR[i].Close && wantR[i].Close {
				gotR[i].Header.Del("Connection")
				wantR[i].Header.Del("Connection")
			}
			gotR[i].Header.Del("Date")
			wantR[i].Header.Del("Date")
		}
		if fmt.Sprint(wantR) != fmt.Sprint(gotR) {
			t.Fatalf("%s %s script %v\nnet/http: %+v\ncarhop:   %+v\nnet/http bytes: %q\ncarhop bytes:   %q",
				method, proto, script, wantR, gotR, want, got)
		}
	})
}
