package channel

// Run serves the queued requests one after another, as Waitress's
// channel.service() does: the channel is its own task, and a worker that
// finishes a request with another queued behind it (pipelining) goes on
// with it rather than waking another worker for it. After MaxPipelined in
// a row it queues the channel again, so that one client cannot keep a
// worker from the others. Worker only.
func (ch *Channel) Run() { ch.run(nil) }

// RunReleasing is Run for a pool whose tasks may give their worker's
// place to a new worker (task.Releaser): Serve gets release, and after a
// request that used it the channel queues itself again for whatever
// follows, since its goroutine no longer counts against the threads.
// Worker only.
func (ch *Channel) RunReleasing(release func()) { ch.run(release) }

// Leave gives the worker's place away for a handler that will run as
// long as its client (a stream, a hijack): it calls release, Serve's, and
// reports true, unless the descriptor budget (Config.Files) is spent.
// Once handlers leave the pool the threads no longer bound how many run
// at once, nor the descriptors they hold of their own (a proxied
// websocket's backend connection), and under gnet an accept that finds
// none left stops the whole server. So each counts as holding one, as a
// temporary file does, until it returns; past the budget it keeps its
// worker, and the threads bound it again. Worker only.
func (ch *Channel) Leave(release func()) bool {
	if release == nil || !ch.site.Files.Take() {
		return false
	}
	release()
	return true
}

func (ch *Channel) run(release func()) {
	for served := 0; ; served++ {
		ch.mu.Lock()
		if is(ch.state, closed) || ch.head == nil {
			put(&ch.state, busy, false)
			ch.mu.Unlock()
			return
		}
		if served == ch.site.MaxPipelined {
			ch.mu.Unlock()
			ch.submit() // busy stays set: this is still the channel's one task
			return
		}
		r := ch.head // served in place: Finish takes it off the queue
		put(&ch.state, serving, true)
		ch.unhold(r)
		inputEnded := is(ch.state, ended)
		ch.mu.Unlock()
		if inputEnded {
			ch.cancel(r) // as its client's context would have been at EOF (Outlive)
		}
		released := false
		if r.Err != nil {
			_ = ch.Write(ch.site.ErrorResponse(r.Err.Status, r.Err.Reason), 0)
			ch.Finish(false)
		} else {
			ch.site.Counters.Requests.Add(1)
			if released = ch.site.Serve(ch, r, release); released {
				ch.site.Files.Give() // Leave's
			}
		}
		ch.mu.Lock()
		more := is(ch.state, again)
		put(&ch.state, again, false)
		ch.mu.Unlock()
		if !more {
			return
		}
		if released {
			ch.submit() // busy stays set: this is still the channel's one task
			return
		}
	}
}

// push appends r to the ready queue, which is at most MaxPipelined long
// (plus one refusal). Channel mutex held.
func (ch *Channel) push(r *Request) {
	r.next = nil
	at := &ch.head
	for *at != nil {
		at = &(*at).next
	}
	*at = r
}

// pop takes the first request off the ready queue. Channel mutex held.
func (ch *Channel) pop() *Request {
	r := ch.head
	ch.head = r.next
	r.next = nil
	return r
}

// Queued reports whether more has come from the client behind the
// request being served: a complete request queued, input the loop has
// not parsed yet (a pipelining client past the parse-ahead limit), or a
// request being received. A drain answers all that before it closes the
// connection, as it does a request queued for a worker, so the response
// being framed must not say "Connection: close". Worker only, while
// serving.
func (ch *Channel) Queued() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return is(ch.state, serving) && !is(ch.state, closed) && ch.head != nil &&
		(ch.head.next != nil || !is(ch.state, loopIdle))
}

// takeAll empties the ready queue of the requests no worker has taken
// and returns them, linked by next; one being served stays for Finish.
// Channel mutex held.
func (ch *Channel) takeAll() *Request {
	at := &ch.head
	if is(ch.state, serving) {
		at = &ch.head.next
	}
	r := *at
	*at = nil
	return r
}

// current is the request a worker is serving, if any. Channel mutex held.
func (ch *Channel) current() *Request {
	if is(ch.state, serving) {
		return ch.head
	}
	return nil
}

// waiting is the first request of the ready queue no worker has taken.
// Channel mutex held.
func (ch *Channel) waiting() *Request {
	if is(ch.state, serving) {
		return ch.head.next
	}
	return ch.head
}

// cancel tells Config.Cancel that r's client is gone. A refusal is the
// channel's own request, not one NewRequest made: there is nothing of the
// caller's to cancel, and its Value is nil.
func (ch *Channel) cancel(r *Request) {
	if r.Err == nil && ch.site.Cancel != nil {
		ch.site.Cancel(r)
	}
}

func (ch *Channel) release(r *Request) {
	ch.unhold(r)
	if r.Body != nil {
		r.Body.Close()
	}
}

// unhold gives back what r counted against the memory budget while it
// waited (enqueue). Channel mutex held, or r off the queue.
func (ch *Channel) unhold(r *Request) {
	ch.site.Memory.Release(int(r.held))
	r.held = 0
}
