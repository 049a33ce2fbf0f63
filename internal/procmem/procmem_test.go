//go:build linux

package procmem

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBytesReadsStatusFields(t *testing.T) {
	tests := []struct {
		field string
		ok    bool
	}{
		{"VmRSS", true},
		{"VmHWM", true},
		{"VmNothing", false},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			n, err := Bytes(os.Getpid(), tt.field)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Positive(t, n)
			assert.Zero(t, n%1024, "kB, in bytes")
		})
	}
	_, err := Bytes(-1, "VmRSS")
	assert.Error(t, err, "no such process")
}

// Watch's peak covers memory that was resident while it watched and is
// gone when it is read.
func TestWatchKeepsThePeak(t *testing.T) {
	before, err := Bytes(os.Getpid(), "VmRSS")
	require.NoError(t, err)
	peak := Watch(os.Getpid(), time.Millisecond)
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = 1 // touched, so resident
	}
	time.Sleep(20 * time.Millisecond) // a few samples
	runtime.KeepAlive(big)
	got := peak()
	assert.GreaterOrEqual(t, got, before+48<<20, "the 64 MiB held while it watched")
	assert.Equal(t, got, peak(), "a second call returns the same")
}
