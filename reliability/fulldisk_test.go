package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// smallDisk mounts a tmpfs of size bytes on a new directory: a disk that
// fills up for real, with ENOSPC from write(2). Where mounting is not
// allowed (it needs CAP_SYS_ADMIN) the test is skipped, and says why.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	require.NoError(t, os.Mkdir(dir, 0o700))
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("a full disk is a small tmpfs here, and mounting one needs CAP_SYS_ADMIN: %v", err)
	}
	// Registered after t.TempDir's own cleanup, so it runs before it.
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// usedBytes is how much of the file system holding dir is in use.
func usedBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &st))
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// fill writes a file into dir until the disk is full, and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 4<<10)
	for range 1 << 16 {
		if _, err = f.Write(buf); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, unix.ENOSPC)
	return path
}

// TestFullTempDir: a disk that fills up while a body spills, and a disk
// already full when a body or a response must spill. The body is refused
// with 500 "cannot buffer request body" and the handler never runs; a
// response is cut short and its handler's Write fails; the space a failed
// spill took is given back; and once there is room again, spilling works.
func TestFullTempDir(t *testing.T) {
	const disk = 256 << 10
	dir := smallDisk(t, disk)
	h := newFaultHandler()
	s, l, base := faultServerIn(t, dir, h)
	empty := usedBytes(t, dir)

	post := func(size int) string {
		c := dial(t, s.addr)
		go func() { // the server may stop reading once the spill fails
			_, _ = io.WriteString(c, fmt.Sprintf("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", size))
			_, _ = c.Write(make([]byte, size))
		}()
		got := elideDate(readAll(t, c))
		require.NoError(t, c.Close())
		return got
	}

	// The disk fills up in the middle of the body.
	assert.Equal(t, refused(500, "cannot buffer request body"), post(4*disk))
	assert.Empty(t, h.rec.take()[1:], "the request whose body could not be kept never ran")
	assert.True(t, settle(func() bool { return usedBytes(t, dir) == empty }), "the failed spill's space is given back")

	// The disk is full before the body comes.
	filler := fill(t, dir)
	assert.Equal(t, refused(500, "cannot buffer request body"), post(8<<10))
	assert.Empty(t, h.rec.take())

	// The disk is full when a response must spill: a response spills
	// only once the socket backs up, so this client reads nothing until
	// the handler has been told. Its head is out by then, so the response
	// is cut short.
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	<-h.entered
	select {
	case err := <-h.writeErr:
		assert.ErrorContains(t, err, "cannot spill")
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was not told")
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a cut response cannot pass for a whole one")
	require.NoError(t, c.Close())

	// Room again: a body that must spill is kept and served.
	require.NoError(t, os.Remove(filler))
	c = dial(t, s.addr)
	body := strings.Repeat("y", disk/2)
	_, err = io.WriteString(c, fmt.Sprintf("POST /again HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	require.NoError(t, err)
	assert.Equal(t, okClose("/again"), elideDate(readAll(t, c)))
	require.NoError(t, c.Close())
	assert.True(t, settle(func() bool { return usedBytes(t, dir) == empty }), "and its file is gone with the request")
	l.afterFault(t, s, base)
}
