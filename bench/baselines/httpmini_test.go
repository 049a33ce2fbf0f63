package baselines

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseAll feeds input in one piece and returns every request found.
func parseAll(input string) []request {
	var r reader
	r.feed([]byte(input))
	var got []request
	for {
		req, ok := r.next()
		if !ok {
			return got
		}
		got = append(got, req)
	}
}

func TestReaderHeads(t *testing.T) {
	ok11 := request{status: 200, keepAlive: true}
	tests := []struct {
		name, in string
		want     []request
	}{
		{"get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", []request{ok11}},
		{"incomplete", "GET / HTTP/1.1\r\nHost: a\r\n", nil},
		{"close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", []request{{status: 200}}},
		{"close in a list", "GET / HTTP/1.1\r\nHost: a\r\nconnection: Upgrade, CLOSE\r\n\r\n", []request{{status: 200}}},
		{"1.0", "GET / HTTP/1.0\r\n\r\n", []request{{status: 200, http10: true}}},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", []request{{status: 200, http10: true, keepAlive: true}}},
		{"head", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", []request{{status: 200, keepAlive: true, head: true}}},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", []request{ok11}},
		{"same lengths twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nxx", []request{ok11}},
		{"body skipped", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 28\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", []request{ok11, ok11}},
		{"body not all here", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", nil},
		{"expect", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", []request{{status: 100, keepAlive: true}}},
		{"expect, body here", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", []request{ok11}},
		{"no host", "GET / HTTP/1.1\r\n\r\n", []request{{status: 400}}},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []request{{status: 400}}},
		{"different lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", []request{{status: 400}}},
		{"signed length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", []request{{status: 400}}},
		{"length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", []request{{status: 400}}},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []request{{status: 501}}},
		{"version 2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", []request{{status: 505}}},
		{"bad version", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", []request{{status: 400}}},
		{"no version", "GET /\r\nHost: a\r\n\r\n", []request{{status: 400}}},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", []request{{status: 400}}},
		{"bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", []request{{status: 400}}},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", []request{{status: 400}}},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", []request{{status: 400}}},
		{"bare LF", "GET / HTTP/1.1\r\nHost: a\nContent-Length: 5\r\n\r\n", []request{{status: 400}}},
		{"nothing after an error", "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", []request{{status: 400}}},
		{"nothing after close", "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", []request{{status: 200, http10: true}}},
		{"pipelined", strings.Repeat("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 3), []request{ok11, ok11, ok11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, parseAll(tt.in))
		})
	}
}

func TestReaderHeadLimit(t *testing.T) {
	start := "GET / HTTP/1.1\r\nHost: a\r\nX: "
	fits := start + strings.Repeat("a", maxHead-len(start)-4) + "\r\n\r\n"
	require.Len(t, fits, maxHead)
	assert.Equal(t, []request{{status: 200, keepAlive: true}}, parseAll(fits))

	over := start + strings.Repeat("a", maxHead-len(start)-3) + "\r\n\r\n"
	assert.Equal(t, []request{{status: 431}}, parseAll(over))
	// Without an end in sight, the limit applies as soon as it is reached.
	assert.Equal(t, []request{{status: 431}}, parseAll(start+strings.Repeat("a", maxHead)))
	assert.Nil(t, parseAll(start+strings.Repeat("a", maxHead-len(start)-1)))
}

// A request arriving a byte at a time is found once, whole.
func TestReaderBytewise(t *testing.T) {
	in := "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc" +
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	var r reader
	var got []int
	for i := range len(in) {
		r.feed([]byte{in[i]})
		for {
			req, ok := r.next()
			if !ok {
				break
			}
			got = append(got, req.status)
			assert.Equal(t, req.status == 100 || !strings.HasSuffix(in[:i+1], "close\r\n\r\n"), req.keepAlive)
		}
		r.release()
	}
	assert.Equal(t, []int{100, 200, 200}, got)
}

func TestAppendResponse(t *testing.T) {
	tests := []struct {
		name       string
		req        request
		status     int
		connection string
		body       string
	}{
		{"keep-alive", request{status: 200, keepAlive: true}, 200, "", body},
		{"close", request{status: 200}, 200, "close", body},
		{"1.0 keep-alive", request{status: 200, keepAlive: true, http10: true}, 200, "keep-alive", body},
		{"head", request{status: 200, keepAlive: true, head: true}, 200, "", ""},
		{"too large", request{status: 431}, 431, "close", "Request Header Fields Too Large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := appendResponse(nil, tt.req)
			method := http.MethodGet
			if tt.req.head {
				method = http.MethodHead
			}
			br := bufio.NewReader(bytes.NewReader(raw))
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, "HTTP/1.1", resp.Proto)
			// ReadResponse turns "Connection: close" into Close.
			assert.Equal(t, tt.connection == "close", resp.Close)
			if tt.connection != "close" {
				assert.Equal(t, tt.connection, resp.Header.Get("Connection"))
			}
			assert.Equal(t, tt.connection != "", bytes.Contains(raw, []byte("\r\nConnection: "+tt.connection+"\r\n")))
			assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
			assert.NotEmpty(t, resp.Header.Get("Date"))
			assert.Equal(t, tt.body, string(got))
			if tt.req.head {
				assert.Equal(t, "13", resp.Header.Get("Content-Length"))
			}
			assert.Zero(t, br.Buffered(), "nothing after the response")
		})
	}
	assert.Equal(t, "HTTP/1.1 100 Continue\r\n\r\n", string(appendResponse(nil, request{status: 100})))
}

// FuzzReader feeds arbitrary input in arbitrary pieces: the reader must
// not panic, must keep its buffer bounded, and must find nothing after a
// request that ends the connection.
func FuzzReader(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), uint8(3))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcdGET / HTTP/1.0\r\n\r\n"), uint8(7))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab"), uint8(1))
	f.Add([]byte("\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, piece uint8) {
		size := int(piece) + 1
		var r reader
		ended := false
		for len(in) > 0 {
			n := min(size, len(in))
			r.feed(in[:n])
			in = in[n:]
			for {
				req, ok := r.next()
				if !ok {
					break
				}
				if ended {
					t.Fatalf("request %+v after the connection ended", req)
				}
				switch req.status {
				case 100, 200, 400, 431, 501, 505:
				default:
					t.Fatalf("status %d", req.status)
				}
				ended = !req.keepAlive
			}
			if !r.stopped && len(r.buf)-r.off >= maxHead {
				t.Fatalf("%d bytes held unparsed", len(r.buf)-r.off)
			}
			r.release()
		}
	})
}

// TestStatusTextMatchesNetHTTP: the baselines spell out the few statuses
// they send rather than link net/http; they must say what net/http says.
func TestStatusTextMatchesNetHTTP(t *testing.T) {
	for _, code := range []int{statusContinue, statusOK, statusBadRequest, statusRequestHeaderFieldsTooLarge,
		statusNotImplemented, statusHTTPVersionNotSupported} {
		assert.Equal(t, http.StatusText(code), statusText(code), "%d", code)
		assert.NotEmpty(t, statusText(code))
	}
	assert.Empty(t, statusText(299))
	assert.Equal(t, http.TimeFormat, timeFormat)
	assert.Equal(t, http.MethodHead, methodHead)
}
