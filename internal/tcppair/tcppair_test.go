package tcppair

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewConnectsBothEnds: what one end writes, the other reads.
func TestNewConnectsBothEnds(t *testing.T) {
	client, server := New(t)
	_, err := io.WriteString(client, "ping")
	require.NoError(t, err)
	require.NoError(t, client.CloseWrite())
	got, err := io.ReadAll(server)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got))
}
