package loop

import "runtime"

// yieldToWorker lets the worker this loop goroutine has just readied run
// before the loop goes back to epoll_wait.
//
// gnet waits for events in a raw epoll_wait system call, and Go does not
// hand a goroutine's P to another thread when it enters a system call:
// sysmon takes it back only after it has been blocked a while, from 20 µs
// up to 10 ms once sysmon has backed off on a quiet process
// (go.dev/issue/76290). A worker readied on the loop's P, in its runnext
// slot, therefore waits until then if the loop blocks first. gnet yields
// with runtime.Gosched before it blocks, but one schedule in 61 takes the
// yielding goroutine back from the global queue ahead of runnext, so with
// one P about one request in 60 at low concurrency waited milliseconds
// (wrk -c1 with GOMAXPROCS=1: p99 2-4 ms, against 0.3-0.8 ms with this
// yield; docs/performance.md). Yielding here, right after the hand-off,
// runs the worker while the loop still has its P: the worker usually
// writes its response itself and parks, and the loop carries on. Two
// yields in a row cannot both land on the 61st schedule.
//
// Only a hand-off yields: a yield costs about as much as a channel
// operation, and under load most OnTraffic calls end one anyway.
var yieldToWorker = runtime.Gosched
