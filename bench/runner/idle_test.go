package runner

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// StreamCost holds every stream open until it has measured, and fails on
// a path that is no stream.
func TestStreamCost(t *testing.T) {
	var open atomic.Int32
	most := make(chan int32, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: a\n\n")
		w.(http.Flusher).Flush()
		if n := open.Add(1); n == 20 {
			most <- n
		}
		<-r.Context().Done()
		open.Add(-1)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	r, err := StreamCost(context.Background(), addr, "/events", os.Getpid(), 20, 10*time.Millisecond, 0)
	require.NoError(t, err)
	assert.Equal(t, 20, r.Opened)
	select {
	case n := <-most:
		assert.Equal(t, int32(20), n, "all twenty streams open at once")
	default:
		t.Fatal("the streams were not all open at once")
	}
	require.Eventually(t, func() bool { return open.Load() == 0 }, 10*time.Second, time.Millisecond, "the streams closed after the measurement")

	_, err = StreamCost(context.Background(), addr, "/missing", os.Getpid(), 1, 0, 0)
	require.ErrorContains(t, err, "404")
}
