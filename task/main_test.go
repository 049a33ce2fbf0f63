package task

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test also checks for leaks itself (see startPool); this catches the
// examples and anything that slips past a test's own cleanup.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
