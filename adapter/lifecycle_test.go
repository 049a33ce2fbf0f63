package adapter

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShutdownHonoursDeadline(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, c.closed(), "connections left at the deadline are closed")
	close(release) // the handler goroutine ends before the leak check
}

func TestCloseCancelsRunningHandlers(t *testing.T) {
	entered := make(chan struct{})
	ended := make(chan error, 1)
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			ended <- r.Context().Err()
		case <-time.After(15 * time.Second):
			ended <- errors.New("context never ended")
		}
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-ended, context.Canceled)
	// Whatever the handler managed to send, the connection then ends.
	_, err := io.ReadAll(c.r)
	assert.NoError(t, err, "connection closed, not timed out")
}

func TestInformationalResponses(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		_, _ = io.WriteString(w, "page")
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	hints, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	_ = hints.Body.Close()
	assert.Equal(t, http.StatusEarlyHints, hints.StatusCode)
	assert.Equal(t, "</style.css>; rel=preload; as=style", hints.Header.Get("Link"))
	resp, body := c.response("GET")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "page", body)
	assert.Empty(t, resp.Header.Get("Link"))
}
