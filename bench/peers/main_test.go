package peers_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every peer stops what it started for its server when its context ends.
// Left out are the libraries' process-wide goroutines, started once and
// never stopped by design: gnet's default goroutine pool (ants), and
// fasthttp's date updater and its worker pool's cleaner, which sleeps
// ten seconds before it looks whether its server stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}
