package task_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/carhop/carhop/task"
)

// With one worker, tasks run one after another in the order they were
// submitted.
func Example() {
	p := task.New(1)
	var wg sync.WaitGroup
	for _, path := range []string{"/", "/about", "/contact"} {
		wg.Add(1)
		if err := p.Submit(func() {
			defer wg.Done()
			fmt.Println("GET", path)
		}); err != nil {
			fmt.Println(err)
		}
	}
	wg.Wait()
	_ = p.Close()
	// Output:
	// GET /
	// GET /about
	// GET /contact
}

// conn stands for a carhop channel: the event loop appends complete
// requests to it, and it keeps at most one task in the pool, as Waitress's
// channel.service does.
type conn struct {
	pool    *task.Pool
	mu      sync.Mutex
	pending []string
	busy    bool
	served  sync.WaitGroup
}

// received is called by the event loop for each complete request.
func (c *conn) received(req string) {
	c.served.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, req)
	if !c.busy {
		c.busy = true
		_ = c.pool.Submit(c.service)
	}
}

// service answers one request and queues the connection again if another
// one is waiting, so that a connection never has two tasks in the pool.
func (c *conn) service() {
	c.mu.Lock()
	req := c.pending[0]
	c.pending = c.pending[1:]
	c.mu.Unlock()

	fmt.Println("served", req)

	c.mu.Lock()
	if len(c.pending) > 0 {
		_ = c.pool.Submit(c.service)
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	c.served.Done()
}

// The queue is unbounded because each connection keeps at most one task in
// it: pipelined requests on one connection are served in order, one task at
// a time, however many workers there are.
func ExamplePool_Submit() {
	p := task.New(4)
	c := &conn{pool: p}
	for _, req := range []string{"GET /a", "GET /b", "GET /c"} {
		c.received(req)
	}
	c.served.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(p.Shutdown(ctx))
	// Output:
	// served GET /a
	// served GET /b
	// served GET /c
	// <nil>
}

// Shutdown finishes what was queued before it began and refuses the rest.
func ExamplePool_Shutdown() {
	p := task.New(2)
	for range 100 {
		_ = p.Submit(func() { time.Sleep(time.Millisecond) })
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("shutdown:", p.Shutdown(ctx))
	fmt.Println("submit:", p.Submit(func() {}))
	s := p.Stats()
	fmt.Println("completed:", s.Completed, "dropped:", s.Dropped)
	// Output:
	// shutdown: <nil>
	// submit: task: pool closed
	// completed: 100 dropped: 0
}

// quietLogger writes records to stdout without what changes from run to
// run, so that the examples can show them.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "stack" {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// A task that panics is logged and counted, and its worker carries on.
func ExampleWithLogger() {
	// The warning is off so that it cannot interleave with the panic record.
	p := task.New(1, task.WithLogger(quietLogger()), task.WithQueueWarnInterval(-1))
	_ = p.Submit(func() { panic("handler bug") })
	done := make(chan struct{})
	_ = p.Submit(func() { close(done) })
	<-done
	_ = p.Shutdown(context.Background())
	fmt.Printf("%+v\n", p.Stats())
	// Output:
	// level=ERROR msg="task panicked" panic="handler bug"
	// {Threads:1 Queued:0 Running:0 Released:0 Completed:2 Panics:1 Dropped:0}
}

// Tasks that find every worker busy raise the queue-depth warning, at most
// once per interval.
func ExampleWithQueueWarnInterval() {
	p := task.New(1, task.WithLogger(quietLogger()), task.WithQueueWarnInterval(time.Minute))
	release := make(chan struct{})
	for range 5 {
		_ = p.Submit(func() { <-release })
	}
	close(release)
	_ = p.Shutdown(context.Background())
	// Output:
	// level=WARN msg="task queue depth" depth=1 threads=1
}

// counter is a long-lived object that is its own task: submitting it
// allocates nothing, where a closure per submission (or per object) would.
type counter struct {
	n    int
	done chan struct{}
}

func (c *counter) Run() {
	c.n++
	c.done <- struct{}{}
}

func ExamplePool_SubmitTask() {
	p := task.New(2)
	c := &counter{done: make(chan struct{})}
	for range 3 {
		if err := p.SubmitTask(c); err != nil {
			fmt.Println(err)
		}
		<-c.done // one at a time, as a channel keeps one task in the pool
	}
	_ = p.Close()
	fmt.Println("ran", c.n, "times")
	// Output: ran 3 times
}

// stream is a task that becomes long-lived: it releases its worker's
// place, then waits for its client to go.
type stream struct {
	subscribed chan struct{}
	gone       chan struct{}
}

func (s *stream) Run() { s.RunReleasing(func() {}) }

func (s *stream) RunReleasing(release func()) {
	release()
	close(s.subscribed)
	<-s.gone
}

// A pool of one worker goes on answering requests while a stream it
// started runs for as long as its client listens.
func ExampleReleaser() {
	p := task.New(1)
	s := &stream{subscribed: make(chan struct{}), gone: make(chan struct{})}
	_ = p.SubmitTask(s)
	<-s.subscribed
	answered := make(chan struct{})
	_ = p.Submit(func() { close(answered) })
	<-answered
	fmt.Println("answered beside", p.Stats().Released, "stream")
	close(s.gone)
	_ = p.Shutdown(context.Background())
	fmt.Printf("%+v\n", p.Stats())
	// Output:
	// answered beside 1 stream
	// {Threads:1 Queued:0 Running:0 Released:0 Completed:2 Panics:0 Dropped:0}
}
