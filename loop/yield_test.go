package loop

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/parser"
)

// TestLoopYieldsAfterHandOff: the loop yields its P once for each request
// it hands to a worker (see yieldToWorker), and not for input that
// completes no request.
func TestLoopYieldsAfterHandOff(t *testing.T) {
	var yields, submits atomic.Int64
	yieldToWorker = func() { yields.Add(1); runtime.Gosched() }
	t.Cleanup(func() { yieldToWorker = runtime.Gosched })

	cfg := channel.Config{
		NewRequest: func(*channel.Channel, *parser.Request) (*channel.Request, error) { return &channel.Request{}, nil },
		Serve: plainServe(func(ch *channel.Channel, _ *channel.Request) {
			_ = ch.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"), 0)
			ch.Finish(true)
		}),
		ErrorResponse: func(int, string) []byte { return []byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n") },
		Submit: func(task interface{ Run() }) error {
			submits.Add(1)
			go task.Run()
			return nil
		},
	}
	s, ran := runServer(t, Config{Loops: 1, Addrs: []string{"tcp://127.0.0.1:0"}, Channel: cfg})
	t.Cleanup(func() {
		require.NoError(t, s.Stop(context.Background()))
		require.NoError(t, <-ran)
	})

	c, err := net.Dial("tcp", s.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	r := bufio.NewReader(c)
	get := func() {
		t.Helper()
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}

	first, partial := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "GET /b HTTP/1.1\r\nHo"
	_, err = c.Write([]byte(first))
	require.NoError(t, err)
	get()
	_, err = c.Write([]byte(partial))
	require.NoError(t, err)
	// Once the partial head is counted, the loop has finished with the
	// first request, its yield included: it runs one callback at a time.
	require.Eventually(t, func() bool { return s.Counters().BytesIn.Load() == uint64(len(first)+len(partial)) },
		5*time.Second, time.Millisecond, "the partial head reaches the loop")
	assert.Equal(t, int64(1), yields.Load(), "a partial head hands nothing over, so the loop does not yield")
	_, err = c.Write([]byte("st: x\r\n\r\n"))
	require.NoError(t, err)
	get()
	assert.Equal(t, int64(2), submits.Load())
	// The worker may answer from another P before the loop, back from
	// Submit, reaches its yield: wait for the loop, then count.
	require.Eventually(t, func() bool { return yields.Load() >= 2 },
		5*time.Second, time.Millisecond, "the loop yields after the second hand-off")
	time.Sleep(10 * time.Millisecond) // room for a stray third yield to show
	assert.Equal(t, submits.Load(), yields.Load(), "one yield per hand-off")
}
