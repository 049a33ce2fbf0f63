package adapter

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c" //nolint:staticcheck // see h2cServer
)

// h2cServer serves HTTP/2 over cleartext with golang.org/x/net's h2c
// handler, which hijacks the connection. net/http itself now has
// Server.Protocols for this, which a server that is not an http.Server
// cannot offer; h2c is how HTTP/2 reaches a handler on carhop.
func h2cServer(t *testing.T) string {
	t.Helper()
	//nolint:staticcheck // deprecated for http.Server's Protocols, which carhop has no equivalent of
	h := h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s %s", r.Proto, r.URL.Path, body)
	}), &http2.Server{})
	_, addr := start(t, h)
	return addr
}

// A client that knows the server speaks HTTP/2 sends the connection
// preface at once ("PRI * HTTP/2.0"), which reaches the h2c handler;
// several streams then share the hijacked connection.
func TestH2CPriorKnowledge(t *testing.T) {
	addr := h2cServer(t)
	var dials atomic.Int32
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true) // prior knowledge: the preface at once
	tr := &http.Transport{Protocols: &protocols, DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	resp, err := c.Get("http://" + addr + "/first") // one connection first, then streams on it
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, "HTTP/2.0", resp.Proto)
	assert.Equal(t, "HTTP/2.0 /first ", string(body))

	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			resp, err := c.Post(fmt.Sprintf("http://%s/s%d", addr, i), "text/plain", strings.NewReader(fmt.Sprint("body", i)))
			if !assert.NoError(t, err) {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			got[i] = string(b)
		})
	}
	wg.Wait()
	for i, g := range got {
		assert.Equal(t, fmt.Sprintf("HTTP/2.0 /s%d body%d", i, i), g)
	}
	assert.Equal(t, int32(1), dials.Load(), "every stream on the one hijacked connection")
}

// A client that does not know asks to upgrade ("Upgrade: h2c"): the
// handler answers 101 on the hijacked connection and then speaks HTTP/2,
// answering the upgraded request as stream 1.
func TestH2CUpgrade(t *testing.T) {
	addr := h2cServer(t)
	r := dial(t, addr)
	r.send("GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
	status, err := r.r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 101 Switching Protocols\r\n", status)
	for { // the rest of the 101's head
		line, err := r.r.ReadString('\n')
		require.NoError(t, err)
		if line == "\r\n" {
			break
		}
	}
	_, err = io.WriteString(r.c, http2.ClientPreface)
	require.NoError(t, err)
	fr := http2.NewFramer(r.c, r.r)
	require.NoError(t, fr.WriteSettings())
	var data strings.Builder
	for range 20 { // settings, their acknowledgement, headers, data
		f, err := fr.ReadFrame()
		require.NoError(t, err)
		if d, ok := f.(*http2.DataFrame); ok && d.StreamID == 1 {
			data.Write(d.Data())
			if d.StreamEnded() {
				break
			}
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			require.NoError(t, fr.WriteSettingsAck())
		}
	}
	// h2c hands the upgraded request to the handler as it came (HTTP/1.1;
	// net/http's server gives the same), answered over HTTP/2.
	assert.Equal(t, "HTTP/1.1 /up ", data.String())
}

// curl, if installed, takes both ways in.
func TestH2CCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (apt-get install curl)")
	}
	if out, _ := exec.Command(curl, "-V").Output(); !strings.Contains(string(out), "HTTP2") {
		t.Skip("curl without HTTP/2")
	}
	addr := h2cServer(t)
	for _, tt := range []struct{ flag, want string }{
		{"--http2", "HTTP/1.1 /c  2"}, // upgraded: the request as it came, the answer over HTTP/2
		{"--http2-prior-knowledge", "HTTP/2.0 /c  2"},
	} {
		out, err := exec.Command(curl, "-sS", "--max-time", "10", tt.flag, "-w", " %{http_version}", "http://"+addr+"/c").CombinedOutput()
		require.NoError(t, err, "%s: %s", tt.flag, out)
		assert.Equal(t, tt.want, string(out), tt.flag)
	}
}
