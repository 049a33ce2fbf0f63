package cpuprofile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartWritesAProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.out")
	stop, err := Start(path)
	require.NoError(t, err)
	stop()
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Positive(t, st.Size(), "a profile has at least its header")
}

func TestStartWithoutPathDoesNothing(t *testing.T) {
	stop, err := Start("")
	require.NoError(t, err)
	stop()
}

func TestStartReportsAnUnwritablePath(t *testing.T) {
	_, err := Start(filepath.Join(t.TempDir(), "missing", "cpu.out"))
	assert.ErrorContains(t, err, "cpu profile")
}
