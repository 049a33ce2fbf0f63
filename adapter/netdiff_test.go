package adapter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/http/pprof"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The differential tests below send the same bytes to carhop and to
// net/http's own server, both running the same handler, and compare what
// comes back: the request the handler saw, and the response on the wire,
// field by field. net/http is the reference a handler is written against;
// where carhop differs on purpose, the case says so and why.

// echoRequest answers with everything a handler can see of its request
// that does not depend on which server or port answered.
func echoRequest(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "method=%s uri=%q proto=%s %d.%d host=%q close=%v\n", r.Method, r.RequestURI, r.Proto, r.ProtoMajor, r.ProtoMinor, r.Host, r.Close)
	fmt.Fprintf(&b, "url scheme=%q opaque=%q user=%v host=%q path=%q rawpath=%q query=%q fragment=%q\n",
		r.URL.Scheme, r.URL.Opaque, r.URL.User, r.URL.Host, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.URL.Fragment)
	fmt.Fprintf(&b, "contentlength=%d te=%q body=%q err=%v tls=%v getbody=%v\n", r.ContentLength, r.TransferEncoding, body, err, r.TLS != nil, r.GetBody != nil)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "header %s=%q\n", k, r.Header[k])
	}
	fmt.Fprintf(&b, "trailer=%q\n", r.Trailer)
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	fmt.Fprintf(&b, "remote=%s", host)
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		fmt.Fprintf(&b, " local=%s", la.IP)
	}
	b.WriteString("\n")
	if err := r.ParseForm(); err == nil {
		fmt.Fprintf(&b, "form=%q postform=%q\n", r.Form, r.PostForm)
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, b.String())
}

// manyFields is a GET of /echo with n fields besides Host, which comes
// halfway through them; names repeat every five fields.
func manyFields(n int) string {
	var b strings.Builder
	b.WriteString("GET /echo HTTP/1.1\r\n")
	for i := range n {
		if i == n/2 {
			b.WriteString("Host: h\r\n")
		}
		fmt.Fprintf(&b, "X-F%d: v%d\r\n", i%5, i)
	}
	b.WriteString("\r\n")
	return b.String()
}

// diffHandlers are the handlers the cases name: each exercises one thing
// net/http does for a handler.
var diffHandlers = map[string]http.HandlerFunc{
	"/echo":  echoRequest,
	"/hello": hello,
	"/sniff": func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><body>hi</body></html>")
	},
	"/empty": func(http.ResponseWriter, *http.Request) {},
	"/204":   func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) },
	"/304": func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotModified)
		_, _ = io.WriteString(w, "dropped")
	},
	"/big": func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, strings.Repeat("b", 64<<10)) },
	"/declared": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "12345")
	},
	"/flushed": func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "one ")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "two")
	},
	"/trailers": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	},
	"/error":    func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "nope", http.StatusTeapot) },
	"/redirect": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere?a=b", http.StatusFound) },
	"/hints": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "page")
	},
	"/twice": func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		w.WriteHeader(http.StatusTeapot) // superfluous: logged and ignored
		w.Header().Set("X-Late", "ignored")
		_, _ = io.WriteString(w, "accepted")
	},
	"/close": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	},
	"/mutate": func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Connection", "close")
		h.Set("X-State", "at WriteHeader")
		w.WriteHeader(http.StatusOK)
		// In place, after the head is fixed: neither change may show.
		h["Connection"][0] = "keep-alive"
		h["X-State"][0] = "changed later"
		_, _ = io.WriteString(w, "snapshot")
	},
	"/unread": func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "did not read it") },
	"/short": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "12345") // the handler breaks its promise
	},
	"/long": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "3")
		_, err := io.WriteString(w, "12345")
		w.Header().Set("X-Err", fmt.Sprint(err)) // too late to be seen: the head is out
	},
	"/te": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked") // the server's to choose
		_, _ = io.WriteString(w, "framed by the server")
	},
	"/gzip": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Encoding", "gzip") // not sniffed: the bytes are not the content
		_, _ = w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	},
	"/late-status": func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
		w.WriteHeader(http.StatusTeapot) // superfluous: the first Write meant 200
	},
	"/odd-status": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(599) },
	"/fields": func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Add("Set-Cookie", "a=1")
		h.Add("Set-Cookie", "b=2")
		h.Set("X-Split", "one\r\nInjected: two")
		h["Bad Name"] = []string{"dropped"}
		h["x-raw-case"] = []string{"kept as is"}
		_, _ = io.WriteString(w, "fields")
	},
	"/identity": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Transfer-Encoding", "identity") // the body ends with the connection
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "data: two\n\n")
	},
	"/zero": func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Content-Length", "0") },
	// The standard library's own handlers and wrappers.
	"/timeout-slow": http.TimeoutHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // TimeoutHandler cancels it when its time is up
		_, _ = io.WriteString(w, "too late")
	}), 20*time.Millisecond, "timed out").ServeHTTP,
	"/timeout-fast": http.TimeoutHandler(http.HandlerFunc(hello), time.Minute, "timed out").ServeHTTP,
	"/maxbytes": func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		_, _ = w.Write(b)
	},
	"/pprof/cmdline": pprof.Cmdline,
	"/controller": func(w http.ResponseWriter, r *http.Request) {
		// A streaming handler's moves: clear the write deadline, go full
		// duplex, answer, then read the body; each step's error is shown.
		rc := http.NewResponseController(w)
		errs := []error{rc.SetWriteDeadline(time.Time{}), rc.SetReadDeadline(time.Now().Add(time.Hour)), rc.EnableFullDuplex()}
		_, _ = fmt.Fprintf(w, "%v ", errs)
		errs = append(errs[:0], rc.Flush())
		b, err := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%v %q %v", errs, b, err)
	},
	"/content": func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "a.txt", time.Unix(1700000000, 0), strings.NewReader("0123456789abcdef"))
	},
}

// diffResult is what a client sees of one response.
type diffResult struct {
	Status        int
	Proto         string
	Header        http.Header
	ContentLength int64
	TE            []string
	Close         bool
	Body          string
	BodyErr       string
	Trailer       http.Header
}

// exchange sends raw to addr and reads responses until finals final
// ones (1xx are read and kept too), then whether the server closed.
func exchange(t *testing.T, addr, raw, method string, finals int) ([]diffResult, bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	br := bufio.NewReader(c)
	out, err := readResponses(br, method, finals)
	require.NoError(t, err, "response %d", len(out))
	closed := false
	if last := out[len(out)-1]; last.Close || last.BodyErr != "" {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := br.ReadByte()
		closed = errors.Is(err, io.EOF)
		if !closed {
			t.Logf("%s: after the last response: %v", addr, err)
		}
	}
	return out, closed
}

// http10Close: carhop says "Connection: close" on an HTTP/1.0 response
// it will close; net/http leaves it to the protocol's default. Both close.
var http10Close = []string{"Connection"}

// unbound replaces a multipart response's random boundary, which differs
// from one response to the next, with a fixed one.
func unbound(r *diffResult) {
	_, boundary, ok := strings.Cut(r.Header.Get("Content-Type"), "boundary=")
	if !ok || boundary == "" {
		return
	}
	r.Header.Set("Content-Type", strings.ReplaceAll(r.Header.Get("Content-Type"), boundary, "BOUNDARY"))
	r.Body = strings.ReplaceAll(r.Body, boundary, "BOUNDARY")
}

// readResponses reads responses from br until finals final ones, each
// body to its end by its framing; the interim (1xx) ones are kept too.
func readResponses(br *bufio.Reader, method string, finals int) ([]diffResult, error) {
	var out []diffResult
	for finals > 0 {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		r := diffResult{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, ContentLength: resp.ContentLength,
			TE: resp.TransferEncoding, Close: resp.Close, Body: string(body), Trailer: resp.Trailer}
		if err != nil {
			r.BodyErr = err.Error()
		}
		if resp.StatusCode >= 200 {
			finals--
		}
		out = append(out, r)
	}
	return out, nil
}

func TestMatchesNetHTTP(t *testing.T) {
	mux := http.NewServeMux()
	for path, h := range diffHandlers {
		mux.Handle(path, h)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend-Saw", r.URL.String())
		if r.URL.Path == "/proxy/stream" {
			for i := range 3 {
				_, _ = fmt.Fprintf(w, "event %d\n", i)
				w.(http.Flusher).Flush()
			}
			return
		}
		_, _ = io.WriteString(w, "from the backend")
	}))
	t.Cleanup(backend.Close)
	backendURL, err := url.Parse(backend.URL)
	require.NoError(t, err)
	mux.Handle("/proxy/", httputil.NewSingleHostReverseProxy(backendURL))
	mux.Handle("/chi/", chiMiddleware())
	_, carhop := start(t, mux)
	ref := httptest.NewUnstartedServer(mux)
	ref.Config.ErrorLog = log.New(io.Discard, "", 0)
	ref.Start()
	t.Cleanup(ref.Close)
	netHTTP := ref.Listener.Addr().String()

	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n" }
	gzipGet := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n"
	}
	tests := []struct {
		name   string
		raw    string
		method string // of the request, when not GET: how to read the response
		finals int    // final responses to read; 1 if zero
		// differs names the header fields carhop sends differently on
		// purpose, which the case then checks on their own; "keep-alive":
		// carhop keeps a connection net/http closes.
		differs []string
	}{
		{name: "echo GET", raw: "GET /echo?a=1&b=%20&a=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Two: 1\r\nX-Two: 2\r\n\r\n"},
		// A request's header values live in an array sized to their
		// count (2, 6, 16, or one of their own past that): each side of
		// each step, Host among the fields, names repeated across them.
		{name: "echo 2 fields", raw: manyFields(2)},
		{name: "echo 3 fields", raw: manyFields(3)},
		{name: "echo 6 fields", raw: manyFields(6)},
		{name: "echo 7 fields", raw: manyFields(7)},
		{name: "echo 16 fields", raw: manyFields(16)},
		{name: "echo 17 fields", raw: manyFields(17)},
		{name: "echo 40 fields", raw: manyFields(40)},
		{name: "echo POST form", raw: "POST /echo?q=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nx=1&y=2", method: "POST"},
		{name: "echo chunked body with trailer", raw: "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: v\r\n\r\n", method: "POST"},
		// A '#' in the target is a 400 (docs/parser.md); net/http takes it.
		{name: "echo absolute form", raw: "GET http://example.com:8080/echo/a%2Fb?x HTTP/1.1\r\nHost: other:8080\r\n\r\n"},
		{name: "echo HTTP/1.0", raw: "GET /echo HTTP/1.0\r\n\r\n", differs: http10Close},
		{name: "echo HTTP/1.0 keep-alive", raw: "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
		{name: "echo Connection: close", raw: "GET /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"},
		{name: "echo no Host, HTTP/1.0", raw: "GET /echo HTTP/1.0\r\nUser-Agent: x\r\n\r\n", differs: http10Close},
		{name: "echo OPTIONS", raw: "OPTIONS /echo HTTP/1.1\r\nHost: h\r\n\r\n", method: "OPTIONS"},
		{name: "hello", raw: get("/hello")},
		{name: "content type sniffed", raw: get("/sniff")},
		{name: "empty", raw: get("/empty")},
		{name: "204", raw: get("/204")},
		{name: "304 drops the body", raw: get("/304")},
		{name: "HEAD", raw: "HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n", method: "HEAD"},
		{name: "HEAD of a large body", raw: "HEAD /big HTTP/1.1\r\nHost: h\r\n\r\n", method: "HEAD"},
		{name: "large body", raw: get("/big")},
		{name: "declared length", raw: get("/declared")},
		{name: "flushed", raw: get("/flushed")},
		{name: "flushed, HTTP/1.0", raw: "GET /flushed HTTP/1.0\r\n\r\n", differs: http10Close},
		{name: "trailers", raw: get("/trailers")},
		{name: "http.Error", raw: get("/error")},
		{name: "http.Redirect", raw: get("/redirect")},
		{name: "103 Early Hints", raw: get("/hints")},
		{name: "WriteHeader twice", raw: get("/twice")},
		{name: "handler closes", raw: get("/close")},
		{name: "header values changed in place after WriteHeader", raw: get("/mutate") + get("/hello")},
		{name: "body left unread", raw: "POST /unread HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", method: "POST"},
		{name: "100-continue", raw: "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", method: "POST"},
		{name: "shorter than declared", raw: get("/short")},
		{name: "longer than declared", raw: get("/long")},
		{name: "ServeContent", raw: get("/content")},
		{name: "ServeContent range", raw: "GET /content HTTP/1.1\r\nHost: h\r\nRange: bytes=2-5\r\n\r\n"},
		{name: "ServeContent ranges", raw: "GET /content HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1,4-5\r\n\r\n"},
		{name: "ServeContent not modified", raw: "GET /content HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: Wed, 15 Nov 2023 00:00:00 GMT\r\n\r\n"},
		{name: "pipelined", raw: get("/hello") + get("/echo") + get("/empty"), finals: 3},
		{name: "handler sets Transfer-Encoding", raw: get("/te")},
		{name: "Content-Encoding is not sniffed", raw: get("/gzip")},
		{name: "WriteHeader after Write", raw: get("/late-status")},
		{name: "status without a text", raw: get("/odd-status")},
		{name: "odd header fields", raw: get("/fields")},
		{name: "Content-Length: 0", raw: get("/zero")},
		{name: "TimeoutHandler, too slow", raw: get("/timeout-slow")},
		{name: "TimeoutHandler, in time", raw: get("/timeout-fast")},
		{name: "MaxBytesReader, within", raw: "POST /maxbytes HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nfour", method: "POST"},
		{
			// MaxBytesReader tells net/http's writer, through a method no
			// other package can implement, that a body was left on the
			// wire, and net/http closes rather than read it. carhop's
			// bodies are read whole before the handler runs: the
			// connection is in step, and stays open.
			name: "MaxBytesReader, over", raw: "POST /maxbytes HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\ntoo much!!",
			method: "POST", differs: []string{"keep-alive"},
		},
		{name: "pprof", raw: get("/pprof/cmdline")},
		{name: "ReverseProxy", raw: get("/proxy/path?q=1")},
		{name: "ReverseProxy, streamed", raw: get("/proxy/stream")},
		{name: "chi Compress", raw: gzipGet("/chi/page")},
		{name: "chi Compress, streamed", raw: gzipGet("/chi/stream")},
		{name: "chi Compress, HEAD", raw: "HEAD /chi/page HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n", method: "HEAD"},
		{name: "chi Heartbeat", raw: get("/chi/ping")},
		{name: "chi Timeout", raw: get("/chi/slow")},
		{name: "chi GetHead", raw: "HEAD /chi/get-only HTTP/1.1\r\nHost: h\r\n\r\n", method: "HEAD"},
		{name: "ResponseController", raw: "POST /controller HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", method: "POST"},
		{name: "HEAD, Content-Length: 0", raw: "HEAD /zero HTTP/1.1\r\nHost: h\r\n\r\n", method: "HEAD"},
		{name: "OPTIONS *", raw: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", method: "OPTIONS"},
		{name: "semicolon in query", raw: get("/echo?a=1;b=2")},
		{name: "path cleaned by the mux", raw: get("/x/../echo")},
		{name: "many headers", raw: "GET /echo HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-Many: v\r\n", 20) + "Accept-Encoding: gzip\r\n\r\n"},
		{name: "empty Host", raw: "GET /echo HTTP/1.1\r\nHost:\r\n\r\n"},
		{name: "GET with a body", raw: "GET /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"},
		{name: "POST without a body", raw: "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", method: "POST"},
		{name: "handler asks for no framing", raw: get("/identity")},
		// No handler takes CONNECT here: the mux refuses it, and the
		// connection goes on with HTTP in both.
		{name: "CONNECT refused by the mux", raw: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + get("/hello"), finals: 2},
		{name: "CONNECT to a path refused by the mux", raw: "CONNECT /nowhere HTTP/1.1\r\nHost: h\r\n\r\n" + get("/hello"), finals: 2},
		// Nor the HTTP/2 preface (no h2c handler here): the mux answers
		// 400 and both close, leaving what follows unread.
		{name: "HTTP/2 preface refused by the mux", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + get("/hello")},
		{
			// carhop reads the whole body before the handler runs, so it
			// asks for it at once (Waitress does the same); net/http only
			// when the handler reads, and when it did not, it closes the
			// connection, not knowing whether the body will come. Both
			// are allowed (RFC 9110 §10.1.1); carhop keeps the connection.
			name: "100-continue, body unread", raw: "POST /unread HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
			method: "POST", differs: []string{"100 Continue"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, finals := tc.method, tc.finals
			if method == "" {
				method = http.MethodGet
			}
			if finals == 0 {
				finals = 1
			}
			want, wantClosed := exchange(t, netHTTP, tc.raw, method, finals)
			got, gotClosed := exchange(t, carhop, tc.raw, method, finals)
			if slices.Contains(tc.differs, "100 Continue") {
				require.NotEmpty(t, got)
				assert.Equal(t, http.StatusContinue, got[0].Status)
				got = got[1:]
				last := &want[len(want)-1]
				last.Header.Del("Connection")
				last.Close, wantClosed = false, false
			}
			if slices.Contains(tc.differs, "keep-alive") {
				last := &want[len(want)-1]
				require.True(t, last.Close && wantClosed, "net/http closes")
				last.Header.Del("Connection")
				last.Close, wantClosed = false, false
			}
			require.Len(t, got, len(want), "responses (1xx included)")
			for i := range want {
				for _, r := range []*diffResult{&want[i], &got[i]} {
					if r.Status >= 200 {
						assert.NotEmpty(t, r.Header.Get("Date"), "response %d has a Date", i)
					}
					r.Header.Del("Date")
				}
				if got[i].Status >= 200 {
					assert.Equal(t, "carhop", got[i].Header.Get("Server"))
					got[i].Header.Del("Server") // net/http sends none
				}
				if slices.Contains(tc.differs, "Connection") {
					assert.Equal(t, "close", got[i].Header.Get("Connection"))
					got[i].Header.Del("Connection")
				}
				unbound(&want[i])
				unbound(&got[i])
				assert.Equal(t, want[i], got[i], "response %d", i)
			}
			assert.Equal(t, wantClosed, gotClosed, "the server closed the connection after")
		})
	}
}

// chiMiddleware is a chi router with the middleware real services stack
// in front of their handlers, each of which wraps or replaces the
// ResponseWriter or the request's context in its own way.
func chiMiddleware() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Heartbeat("/chi/ping"), middleware.NoCache, middleware.GetHead, middleware.Compress(5))
	r.Get("/chi/page", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, strings.Repeat("<p>compressible</p>\n", 300))
	})
	r.Get("/chi/get-only", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "answered for HEAD too")
	})
	r.Get("/chi/stream", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "line %d %s\n", i, strings.Repeat("x", 100))
			w.(http.Flusher).Flush()
		}
	})
	r.With(middleware.Timeout(20*time.Millisecond)).Get("/chi/slow", func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // the middleware's deadline; it answers 504 on the way out
	})
	return r
}
