package adapter

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflare/tableflip"

	"github.com/carhop/carhop/listen"
)

// restartConfig holds the options of this file.
type restartConfig struct {
	enabled bool
	pidFile string
	timeout time.Duration
}

// DefaultRestartTimeout is how long a new process started by a graceful
// restart may take to become ready before it is killed and the old one
// carries on (tableflip's default).
const DefaultRestartTimeout = tableflip.DefaultUpgradeTimeout

// WithGracefulRestart makes Serve restart without dropping a request on
// SIGHUP: it starts a new process of the same executable with the same
// arguments, passes it the listening sockets, waits until it is ready,
// and only then stops accepting and drains (as on SIGTERM) and exits.
// Connections never see a closed port: the kernel queues them on the
// shared sockets for whichever process accepts next. A new process that
// fails to start or to become ready within the restart timeout is killed,
// and the old one carries on. Default off; docs/operations.md says why.
//
// Sockets given with WithListener cannot be passed on and are refused
// with this option. Serve may be called once per process with it.
func WithGracefulRestart(on bool) Option {
	return func(c *config) error { c.restart.enabled = on; return nil }
}

// WithPIDFile makes Serve write the process ID to path once it serves
// (atomically: a temporary file renamed into place), for `systemctl
// reload` (ExecReload=kill -HUP $MAINPID with PIDFile=) and other
// supervisors. After a graceful restart the new process writes its own;
// the file is removed when the last process stops.
func WithPIDFile(path string) Option {
	return func(c *config) error {
		if path == "" {
			return errors.New("carhop: WithPIDFile(\"\")")
		}
		c.restart.pidFile = path
		return nil
	}
}

// WithRestartTimeout bounds how long a new process may take to become
// ready on a graceful restart. Default DefaultRestartTimeout (1 minute).
func WithRestartTimeout(d time.Duration) Option {
	return positiveDuration("WithRestartTimeout", d, func(c *config) { c.restart.timeout = d })
}

// newUpgrader sets the server up to take its sockets from a previous
// process, or to open them and register them for the next one.
func (s *Server) newUpgrader() (*tableflip.Upgrader, error) {
	if len(s.sockets.given) > 0 {
		return nil, errors.New("carhop: WithGracefulRestart cannot pass WithListener listeners to a new process; " +
			"use WithListen (an address, fd:N or systemd)")
	}
	upg, err := tableflip.New(tableflip.Options{
		PIDFile:        s.cfg.restart.pidFile,
		UpgradeTimeout: s.cfg.restart.timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("carhop: graceful restart: %w", err)
	}
	lc := s.cfg.listenConfig()
	// A socket-activated first process passed its systemd sockets on,
	// but took LISTEN_* out of the environment: a successor with the
	// default listen finds them among the inherited sockets instead.
	var activated []net.Listener
	if s.sockets.defaulted {
		sp := listen.Spec{Kind: listen.Systemd}
		if lns, err := inherited(upg.Fds, sp); err == nil && len(lns) > 0 {
			activated = lns
			s.sockets.specs = []listen.Spec{sp}
			s.sockets.native = []bool{false}
		}
	}
	s.sockets.open = func(sp listen.Spec) ([]net.Listener, error) {
		if sp.Kind == listen.Systemd && activated != nil {
			lns := activated
			activated = nil
			return lns, nil
		}
		return openInherited(upg.Fds, lc, sp)
	}
	return upg, nil
}

// openInherited takes spec's sockets from the previous process, or opens
// them and registers them for the next. A spec may name several sockets
// ("systemd"), so they are registered as "spec#0", "spec#1", and so on.
// Unix sockets carhop created are registered as "unix", which makes
// tableflip remove their files when the last process stops; inherited and
// systemd sockets are not ours to unlink.
func openInherited(fds *tableflip.Fds, lc listen.Config, sp listen.Spec) ([]net.Listener, error) {
	lns, err := inherited(fds, sp)
	if err != nil || len(lns) > 0 {
		return lns, err
	}
	if lns, err = lc.Open(sp); err != nil {
		return nil, err
	}
	network, key := fdName(sp)
	for i, ln := range lns {
		tl, ok := ln.(tableflip.Listener)
		if !ok {
			closeAll(lns)
			return nil, fmt.Errorf("%T cannot be passed to a new process", ln)
		}
		if err := fds.AddListener(network, key(i), tl); err != nil {
			closeAll(lns)
			return nil, err
		}
	}
	return lns, nil
}

// inherited takes spec's sockets from the previous process, if it passed
// any.
func inherited(fds *tableflip.Fds, sp listen.Spec) ([]net.Listener, error) {
	network, key := fdName(sp)
	var lns []net.Listener
	for i := 0; ; i++ {
		ln, err := fds.Listener(network, key(i))
		if err != nil {
			closeAll(lns)
			return nil, err
		}
		if ln == nil {
			return lns, nil
		}
		lns = append(lns, ln)
	}
}

// fdName is how spec's sockets are named between processes.
func fdName(sp listen.Spec) (network string, key func(int) string) {
	network = "carhop"
	if sp.Kind == listen.Unix {
		network = "unix"
	}
	return network, func(i int) string { return sp.String() + "#" + strconv.Itoa(i) }
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}

// writePIDFile writes the PID file when no graceful restart does it.
func writePIDFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("carhop: PID file: %w", err)
	}
	defer os.Remove(f.Name()) //nolint:errcheck // gone after the rename
	_, err = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("carhop: PID file: %w", err)
	}
	return nil
}

// removePIDFile removes the PID file if it still names this process: a
// process replaced by a graceful restart leaves its successor's alone.
func removePIDFile(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid == os.Getpid() {
		_ = os.Remove(path)
	}
}
