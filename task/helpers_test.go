package task

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// waitLimit bounds every wait in the tests. It is a deadline that fails the
// test instead of hanging it, never a measurement.
const waitLimit = 10 * time.Second

// startPool starts a pool that is shut down, and checked for leaked
// goroutines, when the test ends. It logs nowhere unless opts say otherwise.
func startPool(t *testing.T, threads int, opts ...Option) *Pool {
	t.Helper()
	// Cleanups run last-in first-out: the leak check runs after Shutdown.
	t.Cleanup(func() { goleak.VerifyNone(t) })
	p := New(threads, append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		require.NoError(t, p.Shutdown(ctx), "Shutdown at the end of the test")
	})
	return p
}

// shutdown shuts p down, failing the test if that takes longer than
// waitLimit.
func shutdown(t *testing.T, p *Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	require.NoError(t, p.Shutdown(ctx))
}

// recv waits for a value from ch, failing the test after waitLimit.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// wait waits for wg, failing the test after waitLimit.
func wait(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	recv(t, done, what)
}

// gate holds tasks until the test opens it, and is opened at the end of the
// test in any case so that a failing test does not leave workers blocked.
type gate struct {
	started chan struct{} // one value per task that reached the gate
	open    chan struct{}
	once    sync.Once
}

func newGate(t *testing.T, capacity int) *gate {
	g := &gate{started: make(chan struct{}, capacity), open: make(chan struct{})}
	t.Cleanup(g.release)
	return g
}

// task returns a task that reports its start and then waits at the gate.
func (g *gate) task() func() {
	return func() {
		g.started <- struct{}{}
		<-g.open
	}
}

// await waits until n tasks have reached the gate.
func (g *gate) await(t *testing.T, n int) {
	t.Helper()
	for range n {
		recv(t, g.started, "a task to reach the gate")
	}
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// logSink collects the JSON records of a slog handler writing to a buffer.
type logSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{} // a value per record, for tests that wait for one
}

func newLogSink() (*logSink, *slog.Logger) {
	s := &logSink{wrote: make(chan struct{}, 1024)}
	return s, slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (s *logSink) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.buf.Write(b)
}

// records decodes what was logged so far, one map per record.
func (s *logSink) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "log line %q", sc.Text())
		recs = append(recs, r)
	}
	require.NoError(t, sc.Err())
	return recs
}

// messages filters records by message.
func messages(recs []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}
