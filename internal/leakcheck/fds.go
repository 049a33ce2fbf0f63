package leakcheck

import (
	"os"
	"path/filepath"
)

// OpenFiles counts this process's descriptors whose target (the path
// /proc/self/fd shows, " (deleted)" appended to an unlinked file's) match
// accepts: a test's check that the server closed the files it opened. It
// needs Linux's /proc.
func OpenFiles(match func(target string) bool) (int, error) {
	const dir = "/proc/self/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && match(target) {
			n++
		}
	}
	return n, nil
}
