// Package reliability holds carhop's reliability suite: tests with an exact
// pass or fail that drive the real server (adapter.New on 127.0.0.1:0, raw
// TCP clients) with hostile input, abusive clients, faults and heavy load.
//
// It owns only tests and the seeds of its fuzz target:
//
//   - smuggling_test.go: request-smuggling and bad-input classes and every
//     parser limit, each with the exact bytes the server answers and proof
//     that nothing after a refused request runs;
//   - fuzz_test.go: FuzzServer, random byte streams split at random points
//     through the event loop, every response well formed, exactly one per
//     complete request (seeds in testdata/fuzz/FuzzServer and f.Add);
//   - timeouts_test.go, connlimit_test.go: slow heads and bodies (408), idle
//     keep-alive, clients that do not read, the exact 503 past the
//     connection limit;
//   - faults_test.go, leaks_test.go: resets, half-closes, panicking,
//     blocking and late handlers, an unwritable temporary directory; after
//     each the server still serves and no goroutine, descriptor or
//     temporary file leaks;
//   - memory_test.go, conns_test.go: memory ceilings for huge declared and
//     real bodies, and thousands of keep-alive connections, with the server
//     in a child process (this test binary, re-executed by TestMain).
//
// docs/security.md maps every class to the test that proves the answer and
// says how to run the heavy variants. The package may not change the
// server: a bug found here is fixed in its own package, with a regression
// test there.
package reliability
