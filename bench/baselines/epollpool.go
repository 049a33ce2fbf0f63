package baselines

import (
	"context"
	"errors"
	"net"
	"sync"
)

// EpollPool returns the Epoll design with n worker goroutines making the
// responses: the loop reads each request completely, a worker turns the
// complete requests of a connection into response bytes, and hands them
// back through an eventfd for the loop to write. This is Waitress's design (and carhop's) without the
// framework. Its failure mode is the pool's: when handlers are slow, n of
// them run and the rest queue, but slow clients cost only buffers, never
// workers. With a handler this cheap, the hand-offs are pure overhead.
func EpollPool(n int) Design {
	return func(ctx context.Context, ln *net.TCPListener) error {
		if n < 1 {
			_ = ln.Close()
			return errors.New("baselines: epoll pool needs at least one worker")
		}
		return runLoop(ctx, ln, n)
	}
}

// job is a connection's complete requests on their way to a worker.
type job struct {
	c    *econn // only carried back: workers never touch the connection
	reqs []request
}

// result is a response on its way back to the loop.
type result struct {
	c         *econn
	resp      []byte
	keepAlive bool
}

// workPool is a fixed set of goroutines with a queue in and a queue out.
// The queue in needs no bound: each connection has at most one job in it,
// and a job at most what one read brought.
type workPool struct {
	mu      sync.Mutex
	ready   sync.Cond
	jobs    []job
	results []result
	spare   []result
	closed  bool
	wake    func()
	wg      sync.WaitGroup
}

func newWorkPool(n int, wake func()) *workPool {
	p := &workPool{wake: wake}
	p.ready.L = &p.mu
	for range n {
		p.wg.Go(p.work)
	}
	return p
}

func (p *workPool) submit(j job) {
	p.mu.Lock()
	p.jobs = append(p.jobs, j)
	p.mu.Unlock()
	p.ready.Signal()
}

func (p *workPool) work() {
	for {
		p.mu.Lock()
		for len(p.jobs) == 0 && !p.closed {
			p.ready.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		j := p.jobs[0]
		p.jobs[0] = job{}
		p.jobs = p.jobs[1:]
		p.mu.Unlock()

		var resp []byte
		for _, req := range j.reqs {
			resp = appendResponse(resp, req)
		}
		last := j.reqs[len(j.reqs)-1]

		p.mu.Lock()
		// Only the first result since the loop last looked needs a
		// wake-up: one eventfd write per batch, not per response.
		first := len(p.results) == 0
		p.results = append(p.results, result{c: j.c, resp: resp, keepAlive: last.keepAlive})
		p.mu.Unlock()
		if first {
			p.wake()
		}
	}
}

// take returns the finished results; the loop owns them until its next
// call.
func (p *workPool) take() []result {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.results
	p.results, p.spare = p.spare[:0], r
	return r
}

// stop ends the workers; queued jobs are dropped with their connections.
func (p *workPool) stop() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ready.Broadcast()
	p.wg.Wait()
}
