package peers_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/bench/peers"
)

// Every peer answers Body, and Big at BigPath, on the same connection.
func TestEveryPeerAnswersBodyAndBig(t *testing.T) {
	for _, name := range peers.Names() {
		t.Run(name, func(t *testing.T) {
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan struct{})
			done := make(chan error, 1)
			go func() { done <- peers.Run(ctx, name, addr, func() { close(ready) }) }()
			t.Cleanup(func() {
				cancel()
				select {
				case err := <-done:
					assert.NoError(t, err, "%s stopped", name)
				case <-time.After(10 * time.Second):
					t.Errorf("%s did not stop", name)
				}
			})
			select {
			case <-ready:
			case err := <-done:
				require.NoError(t, err, "%s stopped before it was ready", name)
			case <-time.After(10 * time.Second):
				require.FailNow(t, "not ready", name)
			}

			tr := &http.Transport{MaxConnsPerHost: 1}
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for _, tt := range []struct {
				path string
				want string
			}{
				{"/", peers.Body},
				{peers.BigPath, string(peers.Big)},
				{"/", peers.Body},
			} {
				resp, err := client.Get("http://" + addr + tt.path)
				require.NoError(t, err, tt.path)
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, resp.Body.Close())
				require.NoError(t, err, tt.path)
				assert.Equal(t, http.StatusOK, resp.StatusCode, tt.path)
				assert.Equal(t, int64(len(tt.want)), resp.ContentLength, "%s declares its length", tt.path)
				assert.True(t, body != nil && string(body) == tt.want, "%s: %d bytes, want %d", tt.path, len(body), len(tt.want))
			}
			assert.Equal(t, strings.Repeat("x", peers.BigSize), string(peers.Big))
		})
	}
}

// freeAddr is a loopback address no one listens on: the peers take an
// address, not a listener.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
