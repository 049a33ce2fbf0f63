package adapter

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carhop/carhop/internal/leakcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFile writes n random bytes, starting with start, to a file in dir.
func writeFile(t *testing.T, dir, name, start string, n int) (string, []byte) {
	t.Helper()
	content := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(content)
	copy(content, start)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, content, 0o600))
	return path, content
}

// TestReadFromFile: a response that copies a file (http.ServeContent,
// io.Copy) carries its bytes in order, whole or in part, with the framing
// the handler asked for, and writes after it follow it.
func TestReadFromFile(t *testing.T) {
	dir := t.TempDir()
	path, content := writeFile(t, dir, "data.bin", "<html><body>", 1<<20+7)
	modTime := time.Now()
	serve := func(w http.ResponseWriter, r *http.Request, use func(f *os.File)) {
		f, err := os.Open(path)
		if !assert.NoError(t, err) {
			return
		}
		defer func() { _ = f.Close() }()
		use(f)
	}
	length := func(w http.ResponseWriter, n int) { w.Header().Set("Content-Length", strconv.Itoa(n)) }
	tests := []struct {
		name       string
		method     string
		rangeField string
		handler    func(w http.ResponseWriter, r *http.Request, f *os.File)
		status     int
		body       []byte
		length     int64 // -1: chunked
		typ        string
		fromFile   bool // sent from the file rather than copied
	}{
		{"ServeContent", http.MethodGet, "", func(w http.ResponseWriter, r *http.Request, f *os.File) {
			http.ServeContent(w, r, "data.bin", modTime, f)
		}, http.StatusOK, content, int64(len(content)), "application/octet-stream", true},
		{"ServeContent range", http.MethodGet, "bytes=70000-269999", func(w http.ResponseWriter, r *http.Request, f *os.File) {
			http.ServeContent(w, r, "data.bin", modTime, f)
		}, http.StatusPartialContent, content[70000:270000], 200000, "application/octet-stream", true},
		{"ServeContent range too small to send from the file", http.MethodGet, "bytes=5-14", func(w http.ResponseWriter, r *http.Request, f *os.File) {
			http.ServeContent(w, r, "data.bin", modTime, f)
		}, http.StatusPartialContent, content[5:15], 10, "application/octet-stream", false},
		{"ServeContent HEAD", http.MethodHead, "", func(w http.ResponseWriter, r *http.Request, f *os.File) {
			http.ServeContent(w, r, "data.bin", modTime, f)
		}, http.StatusOK, nil, int64(len(content)), "application/octet-stream", false},
		{"io.Copy with Content-Length, type sniffed", http.MethodGet, "", func(w http.ResponseWriter, _ *http.Request, f *os.File) {
			length(w, len(content))
			n, err := io.Copy(w, f)
			assert.NoError(t, err)
			assert.Equal(t, int64(len(content)), n)
		}, http.StatusOK, content, int64(len(content)), "text/html; charset=utf-8", true},
		{"io.Copy from the middle", http.MethodGet, "", func(w http.ResponseWriter, _ *http.Request, f *os.File) {
			w.Header().Set("Content-Type", "application/x-test")
			length(w, len(content)-1000)
			_, err := f.Seek(1000, io.SeekStart)
			assert.NoError(t, err)
			_, err = io.Copy(w, f)
			assert.NoError(t, err)
		}, http.StatusOK, content[1000:], int64(len(content) - 1000), "application/x-test", true},
		{"io.Copy without Content-Length: chunked", http.MethodGet, "", func(w http.ResponseWriter, _ *http.Request, f *os.File) {
			w.Header().Set("Content-Type", "application/x-test")
			_, err := io.Copy(w, f)
			assert.NoError(t, err)
		}, http.StatusOK, content, -1, "application/x-test", false},
		{"writes after the file", http.MethodGet, "", func(w http.ResponseWriter, _ *http.Request, f *os.File) {
			w.Header().Set("Content-Type", "application/x-test")
			length(w, 3+len(content)+4)
			_, _ = io.WriteString(w, "pre")
			_, err := io.Copy(w, f)
			assert.NoError(t, err)
			_, _ = io.WriteString(w, "post")
		}, http.StatusOK, append(append([]byte("pre"), content...), "post"...), int64(3 + len(content) + 4), "application/x-test", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serve(w, r, func(f *os.File) { tt.handler(w, r, f) })
			}))
			req, err := http.NewRequest(tt.method, "http://"+addr+"/data.bin", nil)
			require.NoError(t, err)
			if tt.rangeField != "" {
				req.Header.Set("Range", tt.rangeField)
			}
			resp, err := client(t).Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, tt.length, resp.ContentLength)
			assert.Equal(t, tt.typ, resp.Header.Get("Content-Type"))
			assert.True(t, bytes.Equal(tt.body, body), "body of %d bytes differs from the %d expected", len(body), len(tt.body))
			want := uint64(0)
			if tt.fromFile {
				want = 1
			}
			assert.Equal(t, want, srv.Stats().FilesSent, "files sent from the file")
		})
	}
}

// TestReadFromFileFreesWorker: a file much larger than the output's high
// watermark goes to a client that reads nothing until the handler has
// returned, and has closed and removed the file: the worker is not held
// by the download, nothing spills, and the client still gets every byte.
// Copied through memory, the handler would wait at the watermark.
func TestReadFromFileFreesWorker(t *testing.T) {
	dir := t.TempDir()
	path, content := writeFile(t, dir, "big.bin", "", 32<<20)
	returned := make(chan struct{})
	srv, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big.bin" {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(path)
		if assert.NoError(t, err) {
			http.ServeContent(w, r, "big.bin", time.Time{}, f)
			assert.NoError(t, f.Close())
			assert.NoError(t, os.Remove(path))
		}
		close(returned)
	}), WithOutbufHighWatermark(1<<20), WithTempDir(t.TempDir()))
	c := getAndWait(t, addr, returned, "the handler is held by the client's download")
	resp, body := c.response(http.MethodGet)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, sha256.Sum256(content), sha256.Sum256([]byte(body)), "%d bytes received", len(body))
	// The connection goes on, and once its next response is read, the
	// loop has released the file's output: had it spilled, it would be
	// counted by now.
	c.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, _ = c.response(http.MethodGet)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Zero(t, srv.Stats().SpilledOutputs, "the file went through a temporary file")
	assert.Equal(t, uint64(1), srv.Stats().FilesSent)
}

// TestReadFromFileFreesWorkersBehindIt: a file waiting for a slow client
// holds no worker behind it either. A request pipelined behind the
// download is served, and a response of two files is written whole,
// while the client reads nothing; the file costs no memory or disk of
// the server's, so the high watermark does not count it.
func TestReadFromFileFreesWorkersBehindIt(t *testing.T) {
	const size = 8 << 20
	path, content := writeFile(t, t.TempDir(), "big.bin", "", size)
	copyFile := func(w http.ResponseWriter) {
		f, err := os.Open(path)
		if assert.NoError(t, err) {
			_, err = io.Copy(w, f)
			assert.NoError(t, err)
			assert.NoError(t, f.Close())
		}
	}
	returned := make(chan string, 2)
	srv, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { returned <- r.URL.Path }()
		switch r.URL.Path {
		case "/big.bin":
			w.Header().Set("Content-Length", strconv.Itoa(size))
			copyFile(w)
		case "/twice":
			w.Header().Set("Content-Length", strconv.Itoa(2*size))
			copyFile(w)
			copyFile(w)
		default:
			_, _ = io.WriteString(w, "small")
		}
	}), WithOutbufHighWatermark(256<<10), WithTempDir(t.TempDir()))
	for _, tc := range []struct {
		name   string
		paths  []string
		bodies [][]byte
		files  uint64 // sent from the file
	}{
		{"a request pipelined behind a download", []string{"/big.bin", "/small"}, [][]byte{content, []byte("small")}, 1},
		{"two files in one response", []string{"/twice"}, [][]byte{slices.Concat(content, content)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			filesBefore := srv.Stats().FilesSent
			c := dial(t, addr)
			var req strings.Builder
			for _, p := range tc.paths {
				fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", p)
			}
			c.send(req.String())
			deadline := time.Now().Add(10 * time.Second)
			for range tc.paths {
				select {
				case <-returned:
				case <-time.After(time.Until(deadline)):
					t.Fatal("a handler is held by the client's download")
				}
			}
			// A handler returns before its buffered response is written:
			// the worker is free only once its task is done.
			for srv.Stats().Tasks.Running > 0 {
				require.True(t, time.Now().Before(deadline), "a worker is held by the client's download")
				time.Sleep(time.Millisecond)
			}
			for i, want := range tc.bodies {
				resp, body := c.response(http.MethodGet)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, sha256.Sum256(want), sha256.Sum256([]byte(body)), "response %d: %d bytes received", i, len(body))
			}
			assert.Equal(t, tc.files, srv.Stats().FilesSent-filesBefore)
		})
	}
}

// getAndWait asks for /big.bin on a new connection and waits for the
// handler to say it returned (on returned), failing with msg after 10 s;
// the client has read nothing yet.
func getAndWait(t *testing.T, addr string, returned <-chan struct{}, msg string) *raw {
	t.Helper()
	c := dial(t, addr)
	c.send("GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n")
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
	}
	return c
}

// TestReadFromTruncatedFile: a file cut short while the loop still has
// to send it ends the connection once the loop reaches the missing
// bytes: the client gets a true prefix, never other bytes, and sees the
// body end early.
func TestReadFromTruncatedFile(t *testing.T) {
	const size, cut = 32 << 20, 8 << 20
	path, content := writeFile(t, t.TempDir(), "big.bin", "", size)
	returned := make(chan struct{})
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		f, err := os.Open(path)
		if assert.NoError(t, err) {
			http.ServeContent(w, r, "big.bin", time.Time{}, f)
			assert.NoError(t, f.Close())
		}
	}), WithOutbufHighWatermark(1<<20))
	c := getAndWait(t, addr, returned, "the handler did not return")
	require.NoError(t, os.Truncate(path, cut))
	resp, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(size), resp.ContentLength)
	body, err := io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Less(t, len(body), size)
	assert.True(t, bytes.Equal(content[:len(body)], body), "the %d bytes received are not the file's first", len(body))
	assert.True(t, c.closed(), "the connection stays open after a short body")
}

// TestReadFromFileClosedOnAbort: a client that goes away in the middle of
// a file leaves no descriptor of it open in the server.
func TestReadFromFileClosedOnAbort(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd")
	}
	path, _ := writeFile(t, t.TempDir(), "big.bin", "", 32<<20)
	returned := make(chan struct{}, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
		returned <- struct{}{}
	}))
	c := getAndWait(t, addr, returned, "the handler did not return")
	resp, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	_, err = io.CopyN(io.Discard, resp.Body, 1<<20)
	require.NoError(t, err)
	assert.Positive(t, openDescriptorsOf(t, path), "the file is not held while it is sent")
	require.NoError(t, c.c.Close())
	assert.Eventually(t, func() bool { return openDescriptorsOf(t, path) == 0 }, 10*time.Second, 10*time.Millisecond,
		"a descriptor of the file is left open after the client went away")
}

// openDescriptorsOf counts this process's descriptors open on path.
func openDescriptorsOf(t *testing.T, path string) int {
	t.Helper()
	n, err := leakcheck.OpenFiles(func(target string) bool { return target == path })
	require.NoError(t, err)
	return n
}

// BenchmarkServeFile measures a static file's download through
// http.ServeContent, from the file (ReadFrom) and, for comparison, copied
// through Write, over one keep-alive connection.
func BenchmarkServeFile(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 16 << 20} {
		content := make([]byte, size)
		path := filepath.Join(b.TempDir(), "f")
		require.NoError(b, os.WriteFile(path, content, 0o600))
		for _, how := range []string{"readfrom", "write"} {
			b.Run(fmt.Sprintf("size=%dKiB/%s", size>>10, how), func(b *testing.B) {
				s, err := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					f, err := os.Open(path)
					if err != nil {
						b.Error(err)
						return
					}
					defer func() { _ = f.Close() }()
					if how == "write" {
						w = struct{ http.ResponseWriter }{w} // hides ReadFrom
					}
					http.ServeContent(w, r, "f", time.Time{}, f)
				}), WithListen("127.0.0.1:0"), WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(b, err)
				go func() { _ = s.Serve() }()
				<-s.Ready()
				defer func() { _ = s.Close() }()
				tr := &http.Transport{}
				defer tr.CloseIdleConnections()
				c := &http.Client{Transport: tr}
				url := "http://" + s.Addrs()[0].String() + "/f"
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range b.N {
					resp, err := c.Get(url)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			})
		}
	}
}
