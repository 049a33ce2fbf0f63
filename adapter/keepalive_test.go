package adapter

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SetKeepAlivesEnabled(false) closes the connections that are idle, makes
// every response close its connection and still accepts new ones; true
// brings keep-alive back for new connections.
func TestSetKeepAlivesEnabled(t *testing.T) {
	s, addr := start(t, http.HandlerFunc(hello))
	get := func(r *raw) *http.Response {
		t.Helper()
		r.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, body := r.response(http.MethodGet)
		require.Equal(t, "Hello, x!", body)
		return resp
	}

	idle := dial(t, addr)
	assert.False(t, get(idle).Close, "keep-alive by default")

	s.SetKeepAlivesEnabled(false)
	assert.True(t, idle.closed(), "an idle connection is closed")
	off := dial(t, addr)
	resp := get(off)
	assert.True(t, resp.Close, "Connection: close on every response")
	assert.True(t, off.closed(), "and the connection ends after it")

	s.SetKeepAlivesEnabled(true)
	on := dial(t, addr)
	assert.False(t, get(on).Close)
	assert.False(t, get(on).Close, "the connection is kept for the next request")
}

// ExampleServer_SetKeepAlivesEnabled takes a server out of a load
// balancer's rotation: its clients are told to reconnect (elsewhere)
// while it still answers them, before it is stopped.
func ExampleServer_SetKeepAlivesEnabled() {
	s, err := New(http.HandlerFunc(hello), WithListen("127.0.0.1:0"))
	if err != nil {
		panic(err)
	}
	go func() { _ = s.Serve() }()
	<-s.Ready()
	defer func() { _ = s.Close() }()

	s.SetKeepAlivesEnabled(false) // e.g. when the health check starts failing
	resp, err := http.Get("http://" + s.Addrs()[0].String() + "/draining")
	if err != nil {
		panic(err)
	}
	_ = resp.Body.Close()
	fmt.Println(resp.Status, "close:", resp.Close) // Connection: close
	// Output: 200 OK close: true
}
