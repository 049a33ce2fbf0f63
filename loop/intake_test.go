package loop

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runServer(t *testing.T, cfg Config) (*Server, chan error) {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	s := New(cfg)
	ran := make(chan error, 1)
	go func() { ran <- s.Run() }()
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	return s, ran
}

// TestIntakeOnlyAdopted: with adopted listeners only, gnet gets a private
// placeholder socket that serves no one and is removed at the end, and
// adopted connections reach OnOpen on the loops.
func TestIntakeOnlyAdopted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s, ran := runServer(t, Config{Loops: 2, Adopt: func() ([]net.Listener, error) { return []net.Listener{ln}, nil }})
	require.True(t, s.Started())
	assert.Equal(t, []net.Addr{ln.Addr()}, s.Addrs(), "the placeholder is not an address of the server")

	dir := s.intake.dir
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "only this user can reach the placeholder")
	private, err := net.Dial("unix", filepath.Join(dir, "engine.sock"))
	require.NoError(t, err)
	require.NoError(t, private.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, err := private.Read(make([]byte, 1))
	assert.Zero(t, n)
	assert.ErrorIs(t, err, io.EOF, "the placeholder closes whatever connects")
	_ = private.Close()

	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		clients = append(clients, c)
	}
	require.Eventually(t, func() bool { return s.open.Load() == 3 }, 5*time.Second, 5*time.Millisecond,
		"adopted connections are opened on the loops")
	for _, c := range clients {
		_ = c.Close()
	}
	require.Eventually(t, func() bool { return s.open.Load() == 0 }, 5*time.Second, 5*time.Millisecond)

	require.NoError(t, s.Drain(context.Background()))
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "the drain closed the adopted listener")
	require.NoError(t, s.Stop(context.Background()))
	require.NoError(t, <-ran)
	_, err = os.Stat(dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "the placeholder's directory is removed")
}

func TestIntakeAdoptFails(t *testing.T) {
	boom := errors.New("boom")
	s, ran := runServer(t, Config{Adopt: func() ([]net.Listener, error) { return nil, boom }})
	assert.False(t, s.Started())
	assert.ErrorIs(t, <-ran, boom)
	assert.NoError(t, s.Stop(context.Background()), "Stop after a failed start returns")
}
