package buffers

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestModel drives buffers with random interleavings of Write, AppendFile,
// Peek and Discard of random sizes and compares them with a bytes.Buffer, for
// thresholds that put the data in memory only, across the threshold and
// (0) on disk only, a third of them with a budget of a few descriptors. The
// harness checks the invariants after every step.
func TestModel(t *testing.T) {
	t.Parallel()
	thresholds := []int{0, 1, 64, chunkSize - 1, chunkSize, 2*chunkSize + 17, 1 << 20}
	const seeds = 40
	for _, overflow := range thresholds {
		t.Run(fmt.Sprint("overflow=", overflow), func(t *testing.T) {
			t.Parallel()
			for seed := range int64(seeds) {
				runModel(t, overflow, seed)
			}
		})
	}
}

func runModel(t *testing.T, overflow int, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	h := newHarness(t, overflow)
	if seed%3 == 2 {
		// A budget of a few files, often spent: writes fall back on
		// memory and regions are refused.
		h.o.file.fds = NewDescriptors(rng.Intn(4))
	}
	if seed%5 == 3 {
		// A memory budget below the threshold, often below the floor:
		// the buffer spills early and keeps its floor.
		h.o.budget = NewMemory(rng.Int63n(3 * chunkSize))
	}
	if seed%2 == 1 {
		// Rotate files after a small amount instead of 16 MiB, so that
		// reads and discards cross from one file to the next.
		h.o.file.rotate = 1 + rng.Int63n(2*chunkSize)
	}
	// Sizes range over a few bytes to a few chunks, biased small so that
	// chunk and threshold boundaries get hit from both sides.
	size := func() int {
		switch rng.Intn(4) {
		case 0:
			return rng.Intn(16)
		case 1:
			return rng.Intn(chunkSize + 2)
		case 2:
			return chunkSize - 2 + rng.Intn(5)
		default:
			return rng.Intn(3 * chunkSize)
		}
	}
	for range 60 {
		switch rng.Intn(8) {
		case 0, 1, 2:
			p := make([]byte, size())
			rng.Read(p)
			h.write(p)
		case 7:
			p := make([]byte, size())
			rng.Read(p)
			h.appendFile(p, rng.Intn(100))
		case 3, 4:
			h.peek(size())
		case 5:
			h.discard(rng.Intn(int(h.o.Len()) + 1))
		default:
			// Drain completely now and then, so the file is closed and
			// the buffer has to go back to memory.
			h.discard(int(h.o.Len()))
		}
	}
	if rng.Intn(2) == 0 {
		h.drain()
	} else {
		h.reset()
	}
}
