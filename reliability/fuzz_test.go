package reliability

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carhop/carhop/adapter"
	"github.com/carhop/carhop/parser"
)

// The fuzz target's server: one per process, started by the first input and
// stopped by TestMain, so that a fuzz worker does not pay for a server per
// input and never tears one down mid-run.
var (
	fuzzOnce    sync.Once
	fuzzSrv     *server
	fuzzErr     error
	fuzzTmp     string
	fuzzHandled atomic.Int64
)

// fuzzHandler answers with the length of the body it read, so the test can
// check that the server framed the body exactly as the parser did. It
// flushes first when that length is odd, so that about half the answers
// leave the worker pool and the requests pipelined behind them go back to
// it; not for HTTP/1.0, where a flushed answer ends the connection, nor
// CONNECT, where any 2xx does.
func fuzzHandler(w http.ResponseWriter, r *http.Request) {
	fuzzHandled.Add(1)
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if n%2 == 1 && r.ProtoAtLeast(1, 1) && r.Method != http.MethodConnect {
		w.(http.Flusher).Flush()
	}
	_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
}

func fuzzServer(t testing.TB) *server {
	fuzzOnce.Do(func() {
		fuzzTmp, fuzzErr = os.MkdirTemp("", "carhop-fuzz-")
		if fuzzErr != nil {
			return
		}
		// A tiny in-memory allowance sends most bodies through the
		// temporary-file path as well. "OPTIONS *" goes to the handler
		// too: the model expects it to answer every complete request.
		fuzzSrv, fuzzErr = newServer(http.HandlerFunc(fuzzHandler), adapter.WithThreads(2),
			adapter.WithInbufOverflow(64), adapter.WithTempDir(fuzzTmp), adapter.WithGeneralOptionsHandler(false))
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzSrv
}

func stopFuzzServer() {
	if fuzzSrv != nil {
		fuzzSrv.stop(noT{})
	}
	if fuzzTmp != "" {
		_ = os.RemoveAll(fuzzTmp)
	}
}

// noT lets stop run outside a test, from TestMain.
type noT struct{ testing.TB }

func (noT) Helper()                   {}
func (noT) Errorf(string, ...any)     {}
func (noT) Error(...any)              {}
func (noT) FailNow()                  {}
func (noT) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }

// sentinel ends every stream: if the fuzz input leaves the connection at a
// request boundary, the sentinel is a last request and the server closes
// after answering it, so the end of the exchange is known without waiting.
const sentinel = "GET /__end HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n"

// expected is what the server must send for a stream, computed by running
// the same parser over it: one final response per complete request up to
// the first without keep-alive, or a refusal.
type expected struct {
	methods []string // of the requests answered by the handler, in order
	bodies  []int64  // their decoded body lengths
	refusal int      // status of the refusal that ends the stream, or 0
	closed  bool     // the server closes the connection at the end
}

func model(in []byte) expected {
	var e expected
	p := parser.New(parser.Limits{})
	var method string
	var body int64
	for {
		n, ev, err := p.Parse(in)
		in = in[n:]
		switch ev {
		case parser.EventNeedMore:
			return e
		case parser.EventError:
			var perr *parser.Error
			if !errors.As(err, &perr) {
				panic(err)
			}
			e.refusal, e.closed = perr.Status, true
			return e
		case parser.EventHead:
			r := p.Request()
			if !targetParses(r.Form, string(r.Target)) {
				e.refusal, e.closed = 400, true // the adapter refuses it
				return e
			}
			method, body = string(r.Method), 0
		case parser.EventBody:
			body += int64(len(p.Body()))
		case parser.EventDone:
			e.methods = append(e.methods, method)
			e.bodies = append(e.bodies, body)
			// The handler's 200 to a CONNECT, not tunnelled, ends the
			// connection (adapter: response.tunnel).
			if !p.Request().KeepAlive || method == http.MethodConnect {
				e.closed = true
				return e
			}
		}
	}
}

// targetParses mirrors the adapter's target check: url.ParseRequestURI
// for every target but "*" and plain origin-form paths.
func targetParses(form parser.TargetForm, target string) bool {
	if form == parser.AsteriskForm || form == parser.OriginForm && !strings.Contains(target, "%") {
		return true
	}
	if form == parser.AuthorityForm {
		target = "http://" + target
	}
	_, err := url.ParseRequestURI(target)
	return err == nil
}

// FuzzServer feeds a byte stream, cut into writes at points taken from
// splits, to the real server over TCP, and checks that every response is
// well formed, that there is exactly the response the parser's reading of
// the stream calls for per complete request (at most one each), that a
// refusal carries the parser's status and closes, and that the handler ran
// once per complete request.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), []byte{3, 200, 17, 0xF5, 1})
	}
	for _, s := range parserSeeds(f) {
		f.Add(s, []byte{0, 7, 0xFF, 42})
	}
	f.Fuzz(func(t *testing.T, data, splits []byte) {
		s := fuzzServer(t)
		in := append(append([]byte(nil), data...), sentinel...)
		want := model(in)
		before := fuzzHandled.Load()

		c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			writeSplit(c, in, splits)
		}()
		defer func() { <-wrote }()

		r := bufio.NewReader(c)
		got := 0
		wantN := len(want.methods)
		if want.refusal != 0 {
			wantN++
		}
		for got < wantN {
			method := http.MethodGet
			if got < len(want.methods) {
				method = want.methods[got]
			}
			resp, err := http.ReadResponse(r, &http.Request{Method: method})
			if isReset(err) {
				// The server closed on a refusal while the rest of the
				// stream was still arriving; the kernel then resets, and
				// may drop what was in flight. Nothing extra came before.
				if want.refusal == 0 {
					t.Fatalf("connection reset after %d of %d responses with no refusal due", got, wantN)
				}
				return
			}
			if err != nil {
				t.Fatalf("response %d of %d: %v", got+1, wantN, err)
			}
			b, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if method == http.MethodConnect && err == nil {
				// A 2xx to CONNECT has no framing: its body is the rest.
				var rest []byte
				rest, err = io.ReadAll(r)
				b = append(b, rest...)
			}
			if isReset(err) && want.refusal != 0 {
				return
			}
			if err != nil {
				t.Fatalf("response %d body: %v", got+1, err)
			}
			if resp.StatusCode == http.StatusContinue {
				continue // interim, owed to a request with Expect: 100-continue
			}
			if got < len(want.methods) {
				if resp.StatusCode != http.StatusOK || (method != http.MethodHead && string(b) != strconv.FormatInt(want.bodies[got], 10)) {
					t.Fatalf("response %d to %s: %d %q, want 200 %d", got+1, method, resp.StatusCode, b, want.bodies[got])
				}
			} else if resp.StatusCode != want.refusal || !resp.Close {
				t.Fatalf("refusal: %d close=%v, want %d and close", resp.StatusCode, resp.Close, want.refusal)
			}
			got++
		}
		// After the last response due: either the server closes, or (a
		// request still incomplete) it sends nothing more.
		if want.closed {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if extra, err := r.ReadByte(); err == nil {
				t.Fatalf("byte %q after the last response", extra)
			} else if !errors.Is(err, io.EOF) && !isReset(err) {
				t.Fatalf("the server did not close: %v", err)
			}
		} else {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if extra, err := r.ReadByte(); err == nil {
				t.Fatalf("byte %q after the last response", extra)
			}
		}
		if ran := fuzzHandled.Load() - before; ran != int64(len(want.methods)) {
			t.Fatalf("handler ran %d times for %d complete requests", ran, len(want.methods))
		}
	})
}

// writeSplit writes in in pieces whose lengths come from splits (1 to 64
// bytes each, cycling), pausing briefly before a piece whose split byte is
// 0xF0 or more so that the server sees it as a separate read.
func writeSplit(c net.Conn, in, splits []byte) {
	if len(splits) == 0 {
		_, _ = c.Write(in)
		return
	}
	pauses := 0
	for i := 0; len(in) > 0; i++ {
		b := splits[i%len(splits)]
		n := min(int(b%64)+1, len(in))
		if b >= 0xF0 && pauses < 16 {
			pauses++
			time.Sleep(500 * time.Microsecond)
		}
		if _, err := c.Write(in[:n]); err != nil {
			return // the server closed: the rest is not wanted
		}
		in = in[n:]
	}
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\nPOST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
	"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET /d HTTP/1.1\r\nHost: h\r\n\r\n",
	"PUT /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
	"GET /f HTTP/1.0\r\n\r\nGET /never HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /g HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET /h HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /i HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST /j HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\npartial",
	"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloGET / HTTP/1.1\r\n\r\n",
	"GET http://[::1/ HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\nHost: h\n\n",
	"\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\nGET /never HTTP/1.1\r\nHost: h\r\n\r\n",
	"CONNECT /rpc HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\x16\x03\x01",
}

// parserSeeds reuses the parser's committed seed corpus: one input per
// rule and per CVE class.
func parserSeeds(f *testing.F) [][]byte {
	paths, _ := filepath.Glob("../parser/testdata/fuzz/FuzzParse/*")
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		_, lit, _ := strings.Cut(string(b), "\n")
		lit = strings.TrimSpace(lit)
		lit, ok := strings.CutPrefix(lit, "[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")")
		if !ok || !ok2 {
			continue
		}
		s, err := strconv.Unquote(lit)
		if err != nil {
			continue
		}
		out = append(out, []byte(s))
	}
	return out
}
