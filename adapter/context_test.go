package adapter

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequestContext(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}
	tests := []struct {
		name string
		run  func(t *testing.T, c *requestContext)
	}{
		{"carries the local address and nothing else", func(t *testing.T, c *requestContext) {
			assert.Equal(t, local, c.Value(http.LocalAddrContextKey))
			assert.Nil(t, c.Value(http.ServerContextKey))
			_, ok := c.Deadline()
			assert.False(t, ok)
		}},
		{"Done made before cancel is closed by it", func(t *testing.T, c *requestContext) {
			done := c.Done()
			require.NoError(t, c.Err())
			c.cancel()
			<-done
			assert.ErrorIs(t, c.Err(), context.Canceled)
		}},
		{"Done asked after cancel is closed", func(t *testing.T, c *requestContext) {
			c.cancel()
			c.cancel() // a second cancel is harmless
			<-c.Done()
			assert.ErrorIs(t, c.Err(), context.Canceled)
		}},
		{"derived WithTimeout is cancelled with it", func(t *testing.T, c *requestContext) {
			child, stop := context.WithTimeout(c, time.Hour)
			defer stop()
			c.cancel()
			select {
			case <-child.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("child context not cancelled")
			}
			assert.ErrorIs(t, child.Err(), context.Canceled)
		}},
		{"derived context cancelled first unregisters itself", func(t *testing.T, c *requestContext) {
			child, stop := context.WithCancel(c)
			stop()
			<-child.Done()
			c.mu.Lock()
			n := len(c.after)
			c.mu.Unlock()
			assert.Zero(t, n, "a finished child must not stay registered")
			assert.NoError(t, c.Err())
		}},
		{"AfterFunc runs on cancel, and at once when already cancelled", func(t *testing.T, c *requestContext) {
			ran := make(chan string, 2)
			context.AfterFunc(c, func() { ran <- "before" })
			stopped := context.AfterFunc(c, func() { ran <- "stopped" })
			assert.True(t, stopped())
			c.cancel()
			context.AfterFunc(c, func() { ran <- "after" })
			got := map[string]bool{}
			for range 2 {
				select {
				case s := <-ran:
					got[s] = true
				case <-time.After(10 * time.Second):
					t.Fatal("AfterFunc did not run")
				}
			}
			assert.Equal(t, map[string]bool{"before": true, "after": true}, got)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, &requestContext{local: local})
		})
	}
}
