package soak

import (
	"os"
	"testing"
)

// TestMain serves as the soak's child when Run re-executes this test
// binary.
func TestMain(m *testing.M) {
	if Child() {
		return
	}
	os.Exit(m.Run())
}
