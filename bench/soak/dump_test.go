package soak

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoroutineDumpOnlyWhenTheCountMoves(t *testing.T) {
	dir := t.TempDir()
	h := &handler{dumpDir: dir}
	file := func(n string) string { return filepath.Join(dir, "goroutines-"+n+".txt") }

	h.dump(5)
	b, err := os.ReadFile(file("5"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "TestGoroutineDumpOnlyWhenTheCountMoves", "every goroutine's stack, this one's included")

	require.NoError(t, os.Remove(file("5")))
	h.dump(5)
	assert.NoFileExists(t, file("5"), "the same count again is not dumped again")

	h.dump(6)
	assert.FileExists(t, file("6"))
	h.dump(5)
	assert.FileExists(t, file("5"), "back to 5 after 6 is a change")

	off := &handler{}
	off.dump(7) // no directory: nothing is written, nothing fails
}
