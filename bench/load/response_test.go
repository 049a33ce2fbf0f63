package load

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadResponse(t *testing.T) {
	t.Parallel()
	const after = "NEXT" // bytes that follow a framed response stay unread
	tests := []struct {
		name    string
		in      string
		status  int
		reuse   bool
		started bool
		err     error // nil: success; otherwise errors.Is
		rest    string
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!" + after, 200, true, true, nil, after},
		{"case-insensitive names", "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh:  5 \r\n\r\nHello" + after, 200, true, true, nil, after},
		{"bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi" + after, 200, true, true, nil, after},
		{"no reason phrase", "HTTP/1.1 204\r\n\r\n" + after, 204, true, true, nil, after},
		{"empty reason phrase", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n" + after, 200, true, true, nil, after},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8\r\n, World!\r\n0\r\n\r\n" + after, 200, true, true, nil, after},
		{"chunked extensions trailers upper hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\nA;x=y\r\n0123456789\r\n0\r\nX-Sum: 1\r\nX-More: 2\r\n\r\n" + after, 200, true, true, nil, after},
		{"chunked wins over content-length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n" + after, 200, true, true, nil, after},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", 200, false, true, nil, ""},
		{"connection token list", "HTTP/1.1 200 OK\r\nConnection: foo, Close\r\nContent-Length: 2\r\n\r\nhi", 200, false, true, nil, ""},
		{"http/1.0 closes by default", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", 200, false, true, nil, ""},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi" + after, 200, true, true, nil, after},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\nall of this is the body", 200, false, true, nil, ""},
		{"unknown transfer coding reads to close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nbody", 200, false, true, nil, ""},
		{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n" + after, 304, true, true, nil, after},
		{"interim responses skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\nx" + after, 500, true, true, nil, after},
		{"101 ends HTTP", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 101, false, true, nil, ""},
		{"folded line ignored", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n" + after, 200, true, true, nil, after},
		{"same content-length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx" + after, 200, true, true, nil, after},

		{"nothing at all", "", 0, false, false, io.EOF, ""},
		{"truncated status line", "HTTP/1.1 200", 0, false, true, io.ErrUnexpectedEOF, ""},
		{"truncated head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", 200, false, true, io.ErrUnexpectedEOF, ""},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", 200, true, true, io.ErrUnexpectedEOF, ""},
		{"truncated chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort", 200, true, true, io.ErrUnexpectedEOF, ""},
		{"missing last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n", 200, true, true, io.ErrUnexpectedEOF, ""},
		{"missing trailer end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n", 200, true, true, io.ErrUnexpectedEOF, ""},
		{"http/2 status line", "HTTP/2 200 OK\r\n\r\n", 0, false, true, errMalformed, ""},
		{"not http", "SSH-2.0-OpenSSH\r\n", 0, false, true, errMalformed, ""},
		{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 0, false, true, errMalformed, ""},
		{"status too long", "HTTP/1.1 2000 OK\r\n\r\n", 0, false, true, errMalformed, ""},
		{"status not digits", "HTTP/1.1 2x0 OK\r\n\r\n", 0, false, true, errMalformed, ""},
		{"status below 100", "HTTP/1.1 099 OK\r\n\r\n", 0, false, true, errMalformed, ""},
		{"header without colon", "HTTP/1.1 200 OK\r\nbogus\r\n\r\n", 200, false, true, errMalformed, ""},
		{"header with empty name", "HTTP/1.1 200 OK\r\n: x\r\n\r\n", 200, false, true, errMalformed, ""},
		{"bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 200, false, true, errMalformed, ""},
		{"negative content-length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 200, false, true, errMalformed, ""},
		{"huge content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000000\r\n\r\n", 200, false, true, errMalformed, ""},
		{"conflicting content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 200, false, true, errMalformed, ""},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, true, true, errMalformed, ""},
		{"empty chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 200, true, true, errMalformed, ""},
		{"chunk size too big", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", 200, true, true, errMalformed, ""},
		{"chunk data overruns", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", 200, true, true, errMalformed, ""},
		{"header line longer than the buffer", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", readBufferSize) + "\r\n\r\n", 200, false, true, errTooLong, ""},
		{"too many header lines", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: 1\r\n", maxHeaderLines+1) + "\r\n", 200, false, true, errTooMany, ""},
		{"too many interim responses", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", maxInterim+2), 100, false, true, errTooMany, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			br := bufio.NewReaderSize(strings.NewReader(tt.in), readBufferSize)
			resp, err := readResponse(br)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.reuse, resp.reuse, "reuse")
				rest, _ := io.ReadAll(br)
				assert.Equal(t, tt.rest, string(rest), "bytes after the response")
			}
			assert.Equal(t, tt.status, resp.status, "status")
			assert.Equal(t, tt.started, resp.started, "started")
		})
	}
}

// A big body is discarded in steps, not all at once.
func TestReadResponseLargeBodies(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 3*discardChunk+7)
	for _, in := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n" + body,
	} {
		br := bufio.NewReaderSize(strings.NewReader(in), readBufferSize)
		resp, err := readResponse(br)
		require.NoError(t, err)
		assert.Equal(t, 200, resp.status)
		_, err = br.ReadByte()
		assert.ErrorIs(t, err, io.EOF, "the whole body was read")
	}
}

func TestReadResponseDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	in := "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 02:00:00 GMT\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nHello\r\n8\r\n, World!\r\n0\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
	sr := strings.NewReader(in)
	br := bufio.NewReaderSize(sr, readBufferSize)
	allocs := testing.AllocsPerRun(100, func() {
		sr.Reset(in)
		br.Reset(sr)
		for range 2 {
			if _, err := readResponse(br); err != nil {
				panic(err)
			}
		}
	})
	assert.Zero(t, allocs)
}

func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nHello\r\n0\r\nT: 1\r\n\r\n")
	f.Add("HTTP/1.0 103 Early Hints\r\n\r\nHTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReaderSize(strings.NewReader(in), 64)
		resp, err := readResponse(br)
		if err == nil && (resp.status < 100 || resp.status > 999) {
			t.Fatalf("accepted status %d", resp.status)
		}
		if !resp.started && len(in) > 0 {
			t.Fatal("read bytes but started is false")
		}
	})
}
