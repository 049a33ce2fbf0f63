package loop

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPlanDescriptors: the descriptor limit is divided so that the
// connections the server admits, the refusals that linger and the
// channels' files together leave the headroom free, lowering the
// connection limit only where the files would get less than an eighth.
func TestPlanDescriptors(t *testing.T) {
	for _, tc := range []struct {
		conns, reserve, nofile int
		want                   descriptorPlan
	}{
		{10000, 32, 1 << 20, descriptorPlan{conns: 10000, linger: 256, files: 1<<20 - 65536 - 32 - 256 - 10000}},
		{10000, 32, 20000, descriptorPlan{conns: 10000, linger: 256, files: 20000 - 1250 - 32 - 256 - 10000}},
		// macOS, where Go raises the soft limit to 10240 at most.
		{10000, 32, 10240, descriptorPlan{conns: 10240 - 640 - 32 - 256 - 1280, linger: 256, files: 1280, lowered: true}},
		{10000, 32, 1024, descriptorPlan{conns: 1024 - 96 - 64 - 128, linger: 64, files: 128, lowered: true}},
		{100, 32, 256, descriptorPlan{conns: 100, linger: 16, files: 256 - 96 - 16 - 100}},
		{10000, 0, 64, descriptorPlan{conns: 1, linger: 4, files: 8, lowered: true}},
		// No connection limit: the files get half of what is left.
		{0, 32, 20000, descriptorPlan{conns: 0, linger: 256, files: (20000 - 1282 - 256) / 2}},
	} {
		t.Run(fmt.Sprintf("conns=%d,nofile=%d", tc.conns, tc.nofile), func(t *testing.T) {
			p := planDescriptors(tc.conns, tc.reserve, tc.nofile)
			assert.Equal(t, tc.want, p)
			if tc.nofile >= 256 {
				assert.LessOrEqual(t, p.conns+p.linger+p.files+max(64, tc.nofile/16)+tc.reserve, tc.nofile, "descriptors planned past the limit")
			}
		})
	}
}
