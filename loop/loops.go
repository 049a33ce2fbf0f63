package loop

import "runtime"

// DefaultLoops is the number of event loops a server runs unless told:
// half of GOMAXPROCS, and at least one.
//
// Not one per P, as gnet's multicore mode has it, because gnet waits for
// events in a raw epoll_wait system call that keeps its P. While every P
// sits in such a call, Go's sysmon takes one back after 20 µs, sleeps once
// all are idle, and is woken by the next call to return; at moderate
// request rates that cycle repeats for nearly every request. sysmon leaves
// a P in a system call alone (for up to 10 ms) while another P is idle, so
// it is a loop on every P that costs. With two CPUs and ten clients each
// sending a request a millisecond, sysmon had 24 % of carhop's samples
// with two loops and 1 % with one; with a handler that fetches from a
// backend, 16 % against 0.5 %, and a third less CPU in all. The other Ps
// run the handlers (which, with the worker's direct write, carry more than
// half of a request's CPU) and Go's own netpoller, which the handlers'
// backend calls wait on. Measured, docs/performance.md ("How many event
// loops"). nbio's HTTP engine runs a poller per four CPUs.
func DefaultLoops() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}
