package soak

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// adoptOrphans makes this process the child subreaper of its
// descendants: one whose parent exits becomes this process's child, and
// its exit status this process's to wait for.
func adoptOrphans() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// waitOrphan waits up to limit for pid, an adopted descendant, to exit,
// and returns its exit error as exec's Wait would say it (nil for status
// 0); exited is false when it still runs.
func waitOrphan(pid int, limit time.Duration) (exitErr error, exited bool) {
	deadline := time.Now().Add(limit)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case err != nil:
			return err, true
		case got == pid && ws.Exited() && ws.ExitStatus() == 0:
			return nil, true
		case got == pid && ws.Exited():
			return &orphanExit{code: ws.ExitStatus()}, true
		case got == pid && ws.Signaled():
			return &orphanExit{code: -1, signal: ws.Signal().String()}, true
		case time.Now().After(deadline):
			return nil, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// orphanExit is an adopted process's exit other than status 0.
type orphanExit struct {
	code   int
	signal string
}

func (e *orphanExit) Error() string {
	if e.signal != "" {
		return "killed by " + e.signal
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func (e *orphanExit) ExitCode() int { return e.code }
