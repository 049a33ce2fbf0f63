// Package reliability holds carhop's reliability suite: tests with an exact
// pass or fail that drive the real server (adapter.New on 127.0.0.1:0, raw
// TCP clients) with hostile input, faults and heavy transfers.
//
// It owns only tests and the seeds of its fuzz target, FuzzServer:
//
//   - smuggling_test.go: request-smuggling and bad-input classes, each with
//     the exact bytes the server answers and proof that nothing after a
//     refused request runs;
//   - fuzz_test.go: random byte streams split at random points through the
//     event loop, every response well formed, at most one per request;
//   - faults_test.go: resets, half-closes, panicking, blocking and late
//     handlers, an unwritable temporary directory; after each the server
//     still serves and no goroutine, descriptor or temporary file leaks;
//   - memory_test.go: memory ceilings for huge declared and real bodies.
//
// docs/security.md maps every bad-input class to the test that proves the
// answer. The package may not change the server: a bug found here is fixed
// in its own package, with a regression test there.
package reliability
