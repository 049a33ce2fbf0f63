// Package soak is the soak scenario (issue 6): carhop in a child process,
// driven for a configurable time by mixed traffic (small keep-alive
// requests, large uploads and downloads, 100-continue uploads with
// trailers, streamed responses, slow handlers, pipelined batches, greedy
// clients pipelining large heads past the memory budget, clients that
// half-close after their requests, slow clients, upgrades the handler
// hijacks, clients that leave mid-response and malformed requests),
// with the child's resident set, goroutines and counters sampled
// throughout.
//
// It owns the soak's server (Child, Handler: one endpoint per kind of
// traffic and a stats endpoint), its clients (one closed loop per worker,
// every response verified: status, length, content hash, order), the
// sampler, the settling check after the load stops (goroutines back to
// the start, no spill file left open or on disk), and the soak report
// (terminal table, Markdown, JSON and a PNG of RSS and goroutines over
// time). Starting and pinning the child is bench/runner's; the slowloris
// clients and the latency statistics are bench/load's; the chart layout
// is bench/report's. The command is bench/cmd/soak.
//
// With CARHOP_SOAK_GOROUTINE_DUMPS set to a directory, the server writes
// every goroutine's stack there (goroutines-N.txt) at each sample whose
// count N differs from the one before: what a moving count consists of.
package soak
