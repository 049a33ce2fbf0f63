package baselines_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/carhop/carhop/bench/baselines"
)

// The process designs re-execute this test binary as their children.
func TestMain(m *testing.M) {
	if baselines.Child() {
		return
	}
	goleak.VerifyTestMain(m)
}
