package loop

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDefaultLoopsLeaveHalfThePs(t *testing.T) {
	for _, tc := range []struct{ procs, loops int }{
		{1, 1}, // never none
		{2, 1},
		{3, 1},
		{4, 2},
		{16, 8},
	} {
		t.Run("GOMAXPROCS="+strconv.Itoa(tc.procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			assert.Equal(t, tc.loops, DefaultLoops())
			assert.Equal(t, tc.loops, New(Config{}).cfg.Loops, "a server told nothing runs the default")
			assert.Equal(t, 3, New(Config{Loops: 3}).cfg.Loops, "a server told runs what it is told")
		})
	}
}
