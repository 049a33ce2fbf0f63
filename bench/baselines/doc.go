// Package baselines holds the naive server designs of the classic study,
// rebuilt in Go so that the benchmark suite can set them beside carhop and
// real servers. A web server must wait for many clients at once, and
// there are four classic ways to do it (docs/design.md, "Four designs"):
//
//   - Sequential: wait for nothing; serve one connection, then the next.
//   - Process per connection: let the operating system wait, with a
//     process for each client (fork, inetd, CGI).
//   - Thread per connection: the same with threads, cheaper; in Go,
//     goroutines (net/http).
//   - Asynchronous event loop: one thread waits for every socket at once
//     with select, poll or epoll (NGINX, Node, Waitress, carhop).
//
// Each design has a pooled variant that bounds its cost, and each bound is
// a new failure mode. The baselines:
//
//	sequential          one connection at a time on the accept loop
//	process-per-conn    a new process per connection, re-executing this binary
//	process-pool        N preforked processes sharing the listening socket
//	goroutine-per-conn  a goroutine per connection
//	goroutine-pool      N goroutines taking connections from a queue
//	epoll               one locked thread, epoll, non-blocking sockets
//	epoll-pool          the same loop, responses made by N workers (Waitress's design)
//
// Every one answers the same "Hello, World!" (text/plain, Content-Length),
// or 1 MiB of 'x' at /big, with the same small HTTP/1.1 code: whole request heads up to 8 KiB,
// keep-alive as HTTP/1.0 and 1.1 define it, "Connection: close",
// pipelined requests answered in order, Content-Length bodies read and
// discarded, 100-continue, HEAD. Only the waiting differs, so the
// benchmark measures the design and not the parser. Each design's doc
// comment says what it is and how it fails.
//
// The package is Linux-only (epoll, eventfd, PR_SET_PDEATHSIG). The
// process designs re-execute the running binary with the socket inherited
// as a descriptor, so a program using them must call [Child] first thing
// in main, and a test binary in TestMain.
package baselines
