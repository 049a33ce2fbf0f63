package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carhop/carhop/internal/leakcheck"
)

// leakWatch counts what a server may leak: goroutines, file descriptors
// and temporary files (open descriptors on files in its temporary
// directory, which are unlinked at creation and so never show as
// directory entries).
type leakWatch struct {
	goroutines goleak.Option
	fds        int
	dir        string
}

// watchLeaks takes the counts before a server starts; dir is the server's
// temporary directory.
func watchLeaks(t *testing.T, dir string) *leakWatch {
	t.Helper()
	return &leakWatch{goroutines: goleak.IgnoreCurrent(), fds: countFDs(t), dir: dir}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// tempFiles counts open descriptors on files in dir.
func tempFiles(t *testing.T, dir string) int {
	t.Helper()
	n, err := leakcheck.OpenFiles(func(target string) bool {
		return strings.HasPrefix(target, dir+string(filepath.Separator))
	})
	require.NoError(t, err)
	return n
}

// settle polls (at most 5 s) until cond holds; things like a closing
// socket take a moment on the event loop.
func settle(cond func() bool) bool {
	for range 250 {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// running checks, with the server still up, that descriptors are back to
// what the idle server held (base) and that no temporary file is open.
func (l *leakWatch) running(t *testing.T, base int) {
	t.Helper()
	ok := settle(func() bool { return countFDs(t) <= base && tempFiles(t, l.dir) == 0 })
	assert.True(t, ok, "descriptors: %d open, %d when idle; %d temporary files open",
		countFDs(t), base, tempFiles(t, l.dir))
	ents, err := os.ReadDir(l.dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "files left in the temporary directory")
}

// stopped checks, once the server has stopped, that every goroutine and
// descriptor it made is gone.
func (l *leakWatch) stopped(t *testing.T) {
	t.Helper()
	ok := settle(func() bool { return countFDs(t) <= l.fds })
	assert.True(t, ok, "descriptors: %d open, %d before the server: %v", countFDs(t), l.fds, listFDs())
	assert.NoError(t, goleak.Find(leakcheck.Options(l.goroutines)...))
}

// listFDs names the open descriptors, for failure messages.
func listFDs() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		out = append(out, e.Name()+"->"+target)
	}
	return out
}
