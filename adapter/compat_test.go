package adapter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Libraries that real applications put on top of net/http must work
// unchanged: a websocket library hijacking the connection, a router, and
// http.FileServer with ranges.

func TestWebsocketOverHijack(t *testing.T) {
	upgrader := websocket.Upgrader{}
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if err := conn.WriteMessage(typ, append([]byte("echo: "), msg...)); err != nil {
				return
			}
		}
	}))
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.Dial("ws://"+addr+"/ws", nil)
	require.NoError(t, err)
	defer ws.Close()
	defer resp.Body.Close()
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(10*time.Second)))
	for i := range 5 {
		msg := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i*10000))
		require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(msg)))
		_, got, err := ws.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "echo: "+msg, string(got))
	}
	require.NoError(t, ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")))
}

// coder/websocket writes its 101 with WriteHeader and then hijacks, so the
// head a handler wrote must go out with the handover.
func TestCoderWebsocket(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := cws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = conn.CloseNow() }()
		conn.SetReadLimit(1 << 20)
		for {
			typ, msg, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			if err := conn.Write(r.Context(), typ, append([]byte("echo: "), msg...)); err != nil {
				return
			}
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := cws.Dial(ctx, "ws://"+addr+"/ws", &cws.DialOptions{HTTPClient: client(t)})
	require.NoError(t, err)
	defer func() { _ = ws.CloseNow() }()
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	ws.SetReadLimit(1 << 20)
	for i := range 5 {
		msg := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i*10000))
		require.NoError(t, ws.Write(ctx, cws.MessageText, []byte(msg)))
		_, got, err := ws.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, "echo: "+msg, string(got))
	}
	require.NoError(t, ws.Close(cws.StatusNormalClosure, ""))
}

func TestHijackSeesBytesSentAfterHead(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		line, _ := brw.ReadString('\n')
		_, _ = io.WriteString(c, "got "+line)
	}))
	c := dial(t, addr)
	// The client does not wait for the 101: its first line arrives with the head.
	c.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly line\n")
	resp, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 101, resp.StatusCode)
	line, err := c.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "got early line\n", line)
}

func TestChiRouter(t *testing.T) {
	r := chi.NewRouter()
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "user "+chi.URLParam(r, "id"))
	})
	r.Post("/users", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(b)
	})
	_, addr := start(t, r)
	c := client(t)
	resp, err := c.Get("http://" + addr + "/users/42")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, "user 42", string(b))
	resp, err = c.Post("http://"+addr+"/users", "text/plain", strings.NewReader("ann"))
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "ann", string(b))
	resp, err = c.Get("http://" + addr + "/nope")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestFileServerWithRanges(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB: streamed, not buffered
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data.bin"), content, 0o600))
	_, addr := start(t, http.FileServer(http.Dir(dir)))
	c := client(t)

	resp, err := c.Get("http://" + addr + "/data.bin")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, content, b)
	assert.Equal(t, int64(len(content)), resp.ContentLength)

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/data.bin", nil)
	req.Header.Set("Range", "bytes=5-14")
	resp, err = c.Do(req)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "5678901234", string(b))
	assert.Equal(t, fmt.Sprintf("bytes 5-14/%d", len(content)), resp.Header.Get("Content-Range"))
}

func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (apt-get install curl)")
	}
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(b))
	}))
	out, err := exec.Command(curl, "-sS", "--max-time", "10", "-d", "hello", "http://"+addr+"/a",
		"--next", "-sS", "http://"+addr+"/b").Output()
	require.NoError(t, err)
	assert.Equal(t, "POST /a 5GET /b 0", string(out))
}

// A handler may hijack a connection whose client asked for no hijack
// (no Upgrade, no CONNECT) and sent its next request right behind. carhop
// has then most likely parsed that request already: the hijack fails
// with ErrPipelined and both requests are answered as usual. Should the
// handler have won the race, the request must reach the hijacker whole.
func TestHijackBehindPipelinedRequest(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hijack" {
			_, _ = io.WriteString(w, "served "+r.URL.Path)
			return
		}
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			assert.ErrorIs(t, err, ErrPipelined)
			_, _ = io.WriteString(w, "not hijacked")
			return
		}
		defer c.Close()
		line, _ := brw.ReadString('\n')
		_, _ = io.WriteString(c, "raw "+line)
	}))
	for range 20 {
		c := dial(t, addr)
		c.send("GET /hijack HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
		peek, err := c.r.Peek(4)
		require.NoError(t, err)
		if string(peek) == "raw " {
			line, err := c.r.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "raw GET /b HTTP/1.1\r\n", line)
			continue
		}
		_, body := c.response(http.MethodGet)
		assert.Equal(t, "not hijacked", body)
		_, body = c.response(http.MethodGet)
		assert.Equal(t, "served /b", body)
		require.NoError(t, c.c.Close())
	}
}
