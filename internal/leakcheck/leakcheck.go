// Package leakcheck is the goroutine-leak check every package with
// network tests runs after its tests (goleak), with the goroutines that
// are not ours to stop: gnet's shared goroutine pool (ants) keeps its
// purge goroutines, and workers it ran Register on, for the life of the
// process. OpenFiles counts descriptors, for tests that check files are
// closed. Tests only; it owns nothing at run time.
package leakcheck

import (
	"testing"

	"go.uber.org/goleak"
)

// Options ignores gnet's pool and adds extra.
func Options(extra ...goleak.Option) []goleak.Option {
	return append([]goleak.Option{
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*Pool).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*Pool).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/gnet/v2/pkg/pool/goroutine.init.0.func1"),
		// Register (adopted listeners) runs on that pool; idle workers
		// expire after 10 s.
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
	}, extra...)
}

// VerifyTestMain runs the tests, then fails the run if goroutines other
// than gnet's pool's are left.
func VerifyTestMain(m *testing.M, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, Options(extra...)...)
}
