package adapter

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestPendingFillsItsSizeClass keeps each pending, with its header values
// and the allocator's 8-byte header for objects over 512 bytes that hold
// pointers, within the size class newPending chose it for: a field added
// to pending would move every request into the next class, 64 to 128
// bytes more garbage each.
func TestPendingFillsItsSizeClass(t *testing.T) {
	const mallocHeader = 8
	tests := []struct {
		name      string
		size      uintptr
		sizeClass uintptr
	}{
		{"two values", unsafe.Sizeof(pending2{}), 640},
		{"six values", unsafe.Sizeof(pending6{}), 704},
		{"sixteen values", unsafe.Sizeof(pending16{}), 896},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.LessOrEqual(t, tc.size+mallocHeader, tc.sizeClass)
		})
	}
}

func TestNewPendingHasRoomForEveryValue(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 6, 7, 16, 17, 100} {
		p, values := newPending(n)
		assert.NotNil(t, p)
		assert.Len(t, values, n)
	}
}
