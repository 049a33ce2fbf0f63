// Package load is the benchmark suite's client side: a closed-loop
// HTTP/1.1 load generator that records every request's latency, the
// statistics computed from those latencies, and slow clients for the
// slowloris and slowread scenarios.
//
// Run works like `hey -n N -c C` (or `-z D`): Concurrency connections, one
// goroutine each, each sending its next GET as soon as the previous
// response is complete, with keep-alive or with a new connection per
// request. It is built so that it is not the bottleneck when pinned to one
// CPU: a raw net.Conn per connection, the request bytes built once, a
// minimal response reader (status line; Content-Length, Transfer-Encoding
// and Connection; the body, discarded) over a reused bufio.Reader, and
// latencies appended to per-connection slices that are merged and sorted
// at the end. A request on a kept-alive connection allocates nothing.
//
// Summarize turns sorted latencies into Stats (RPS, mean, mode with its
// bucket width, worst, nearest-rank P50/P90/P99); its doc comment gives
// the exact rules. SlowClients holds connections open by sending a
// request head one byte at a time and reports how many of them the server
// closed. SlowReaders asks for one response each and reads it a chunk at
// a time, through a small receive buffer and a real network's segment
// size, so that a large response keeps its writer waiting; it reports how
// many responses had begun, how much arrived, and whom the server cut off.
//
// The package does not start or stop servers (bench/peers does), does not
// pin processes to CPUs or set GOMAXPROCS (the caller runs the generator
// under taskset, where Go sizes GOMAXPROCS to the one CPU it is given),
// and does not format or store reports.
package load
