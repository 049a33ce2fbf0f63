package parser

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The inputs of docs/parser.md's benchmark table. Both parsers read the
// same bytes in the same run; compare them with benchstat or the ratio of
// their ns/op.

// browserGET is a 300-byte-class GET with ten header fields, as a browser
// sends it.
var browserGET = crlf(`GET /static/app.js?v=3 HTTP/1.1
Host: www.example.com
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0
Accept: */*
Accept-Language: en-US,en;q=0.5
Accept-Encoding: gzip, deflate, br
Referer: https://www.example.com/
Connection: keep-alive
Cookie: session=3f2a9c1b; theme=dark
Sec-Fetch-Dest: script
If-None-Match: "5f1c-2b"

`)

var pipelined16 = strings.Repeat(browserGET, 16)

var chunkedPOST = func() string {
	var b strings.Builder
	b.WriteString(crlf("POST /upload HTTP/1.1\nHost: www.example.com\nContent-Type: application/octet-stream\nTransfer-Encoding: chunked\n\n"))
	chunk := strings.Repeat("x", 4096)
	for range 16 {
		b.WriteString(strconv.FormatInt(int64(len(chunk)), 16) + "\r\n" + chunk + "\r\n")
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}()

var benchInputs = []struct {
	name     string
	in       string
	requests int
}{
	{"GET", browserGET, 1},
	{"Pipelined16", pipelined16, 16},
	{"ChunkedPOST64K", chunkedPOST, 1},
}

// BenchmarkParse runs both parsers over each input, as sub-benchmarks
// input=X/impl=Y, so that `benchstat -col /impl` prints them side by side
// with the ratio.
func BenchmarkParse(b *testing.B) {
	for _, bi := range benchInputs {
		in := []byte(bi.in)
		b.Run("input="+bi.name+"/impl=carhop", func(b *testing.B) {
			p := New(Limits{})
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if n := parseAll(p, in); n != bi.requests {
					b.Fatalf("parsed %d requests, want %d", n, bi.requests)
				}
			}
		})
		b.Run("input="+bi.name+"/impl=net-http", func(b *testing.B) {
			rd := bytes.NewReader(in)
			br := bufio.NewReader(rd)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(in)
				br.Reset(rd)
				for range bi.requests {
					req, err := http.ReadRequest(br)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, req.Body); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// parseAll parses every request in in, copying body bytes out as the
// channel does (net/http's side copies them into io.Discard's buffer), and
// returns how many requests completed.
func parseAll(p *Parser, in []byte) int {
	done := 0
	for {
		n, ev, err := p.Parse(in)
		if err != nil {
			panic(err)
		}
		in = in[n:]
		switch ev {
		case EventBody:
			for b := p.Body(); len(b) > 0; {
				b = b[copy(bodySink[:], b):]
			}
		case EventDone:
			done++
		case EventNeedMore:
			return done
		}
	}
}

var bodySink [8 << 10]byte

// TestBenchInputs keeps the benchmark inputs honest: they parse, and
// net/http agrees on what they contain.
func TestBenchInputs(t *testing.T) {
	if len(browserGET) < 280 || len(browserGET) > 420 {
		t.Fatalf("browserGET is %d bytes; keep it near 300", len(browserGET))
	}
	for _, bi := range benchInputs {
		if n := parseAll(New(Limits{}), []byte(bi.in)); n != bi.requests {
			t.Fatalf("%s: parsed %d requests, want %d", bi.name, n, bi.requests)
		}
	}
	if tr := feed(Limits{}, browserGET); len(tr.Requests[0].Headers) != 10 {
		t.Fatalf("browserGET has %d fields, want 10", len(tr.Requests[0].Headers))
	}
	tr := feed(Limits{}, chunkedPOST)
	if len(tr.Requests) != 1 || len(tr.Requests[0].Body) != 64<<10 {
		t.Fatalf("chunkedPOST body is wrong")
	}
}

// TestZeroAllocs pins the zero-allocation promise for a warm parser.
func TestZeroAllocs(t *testing.T) {
	for _, bi := range benchInputs {
		p := New(Limits{})
		in := []byte(bi.in)
		parseAll(p, in)
		if a := testing.AllocsPerRun(50, func() { parseAll(p, in) }); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", bi.name, a)
		}
	}
}
