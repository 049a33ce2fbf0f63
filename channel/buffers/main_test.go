package buffers

import (
	"testing"

	"go.uber.org/goleak"
)

// The package promises no goroutines; goleak holds it to that.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
