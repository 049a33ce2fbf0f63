package adapter

import (
	"os"
	"strconv"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// systemd's readiness protocol (sd_notify(3)). Under a unit of
// Type=notify or Type=notify-reload, systemd sets NOTIFY_SOCKET, and
// Serve tells it when the server is ready, when a graceful restart is
// under way and when it is stopping; elsewhere nothing is sent. Server's
// own Serve leaves this to the application, which decides when it is
// ready.

// notifyReady says the server accepts connections, and that this process
// is the service's main one: a new process of a graceful restart says so
// before its predecessor drains and exits (which needs NotifyAccess=all),
// so systemd follows it rather than taking the old one's exit for the
// service's end.
func (s *Server) notifyReady() {
	s.notify(daemon.SdNotifyReady + "\nMAINPID=" + strconv.Itoa(os.Getpid()))
}

// notifyReloading says a graceful restart has begun; the new process's
// notifyReady ends it, or this one's if the restart fails. systemd wants
// the time it began, on CLOCK_MONOTONIC.
func (s *Server) notifyReloading() {
	s.notify(daemon.SdNotifyReloading + "\nMONOTONIC_USEC=" + strconv.FormatInt(monotonicMicros(), 10))
}

// notifyStopping says the server is draining to exit.
func (s *Server) notifyStopping() { s.notify(daemon.SdNotifyStopping) }

func monotonicMicros() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return 0
	}
	return ts.Nano() / int64(time.Microsecond)
}

func (s *Server) notify(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		s.cfg.logger.Warn("carhop: cannot notify systemd", "state", state, "err", err)
	}
}
