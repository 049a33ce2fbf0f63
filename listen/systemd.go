package listen

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/coreos/go-systemd/v22/activation"
)

// The descriptors systemd passed, taken from the environment once.
var systemd struct {
	once  sync.Once
	files []*os.File
	taken []bool
	mu    sync.Mutex
}

func systemdFiles() {
	systemd.once.Do(func() {
		// Unsetting LISTEN_* keeps them from children (a graceful
		// restart's new process passes its sockets its own way).
		systemd.files = activation.Files(true)
		systemd.taken = make([]bool, len(systemd.files))
	})
}

// SystemdActivated reports whether systemd passed this process sockets
// (LISTEN_PID is this process and LISTEN_FDS is positive), without taking
// them.
func SystemdActivated() bool {
	systemd.mu.Lock()
	defer systemd.mu.Unlock()
	if systemd.files != nil {
		for _, t := range systemd.taken {
			if !t {
				return true
			}
		}
		return false
	}
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return false
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	return err == nil && n > 0
}

// SystemdListeners takes the listening sockets systemd passed: those
// named name (FileDescriptorName= in the socket unit, LISTEN_FDNAMES), or
// all of them for "". Each socket is handed out once; asking again gives
// ErrNoSystemdSockets.
func SystemdListeners(name string) ([]net.Listener, error) {
	systemd.mu.Lock()
	defer systemd.mu.Unlock()
	systemdFiles()
	var lns []net.Listener
	for i, f := range systemd.files {
		if systemd.taken[i] || name != "" && f.Name() != name {
			continue
		}
		ln, err := net.FileListener(f)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("listen: systemd socket %d (%s): %w", i, f.Name(), err)
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return nil, ErrNoSystemdSockets
	}
	for i, f := range systemd.files {
		if !systemd.taken[i] && (name == "" || f.Name() == name) {
			systemd.taken[i] = true
			_ = f.Close()
		}
	}
	return lns, nil
}
