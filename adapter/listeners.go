package adapter

import (
	"errors"
	"fmt"
	"io/fs"
	"net"

	"github.com/carhop/carhop/listen"
)

// socketConfig holds the options of this file.
type socketConfig struct {
	listeners []net.Listener // WithListener, in order
	unixPerms fs.FileMode
}

// WithListener serves on a listener the application opened: one made with
// net.Listen, passed by a supervisor, or wrapped. It may be given several
// times and mixed with WithListen; WithListener alone means no default
// address is listened on. carhop accepts on it and hands each connection
// to an event loop, with the same connection limit, timeouts and draining
// as its own listeners; Shutdown and Close close it, as net/http does.
// The listener must yield *net.TCPConn or *net.UnixConn connections (gnet
// takes the descriptor over). A graceful restart (WithGracefulRestart)
// cannot pass such a listener on: use WithListen, "fd:N" or "systemd".
func WithListener(ln net.Listener) Option {
	return func(c *config) error {
		if ln == nil {
			return errors.New("carhop: WithListener(nil)")
		}
		c.sockets.listeners = append(c.sockets.listeners, ln)
		return nil
	}
}

// WithUnixSocketPerms sets the mode of the Unix sockets carhop creates for
// "unix:/path" addresses (Waitress unix_socket_perms). Clients need write
// permission to connect. Default 0600, Waitress's.
func WithUnixSocketPerms(mode fs.FileMode) Option {
	return func(c *config) error {
		if mode&^fs.ModePerm != 0 || mode == 0 {
			return fmt.Errorf("carhop: WithUnixSocketPerms(%#o): want permission bits such as 0o660", mode)
		}
		c.sockets.unixPerms = mode
		return nil
	}
}

// listenConfig is how carhop creates the sockets it adopts.
func (c *config) listenConfig() listen.Config {
	return listen.Config{ReusePort: c.reusePort, UnixPerms: c.sockets.unixPerms}
}

// listenSpecs are the parsed WithListen addresses. With neither WithListen
// nor WithListener, they are the sockets of systemd socket activation when
// systemd passed some, else DefaultListen.
func (c *config) listenSpecs() ([]listen.Spec, error) {
	addrs := c.listen
	if len(addrs) == 0 && len(c.sockets.listeners) == 0 {
		addrs = []string{DefaultListen}
		if listen.SystemdActivated() {
			addrs = []string{"systemd"}
		}
	}
	specs := make([]listen.Spec, 0, len(addrs))
	for _, a := range addrs {
		sp, err := listen.Parse(a)
		if err != nil {
			return nil, fmt.Errorf("carhop: %w", err)
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// sockets decides, for each listen spec, whether gnet binds it itself
// (TCP addresses, gnet's own accept being the faster path; see
// docs/operations.md) or carhop opens it and accepts on it (Unix sockets,
// inherited and systemd sockets, and every socket of a server that may
// pass its sockets to a new process).
type sockets struct {
	defaulted bool // no WithListen, no WithListener: specs are a default
	specs     []listen.Spec
	native    []bool // per spec: gnet binds it
	counts    []int  // per spec: listeners it gave, once adopted
	given     []net.Listener
	open      func(listen.Spec) ([]net.Listener, error)
	gnetAddr  []string
}

func newSockets(cfg *config, allAdopted bool) (*sockets, error) {
	specs, err := cfg.listenSpecs()
	if err != nil {
		return nil, err
	}
	lc := cfg.listenConfig()
	ss := &sockets{specs: specs, given: cfg.sockets.listeners, open: lc.Open,
		defaulted: len(cfg.listen) == 0 && len(cfg.sockets.listeners) == 0}
	for _, sp := range specs {
		native := sp.Kind == listen.TCP && !allAdopted
		ss.native = append(ss.native, native)
		if native {
			scheme := "tcp://"
			if sp.Network == "tcp6" {
				scheme = "tcp6://" // IPv6-only, as listen.Parse promises
			}
			ss.gnetAddr = append(ss.gnetAddr, scheme+sp.Address)
		}
	}
	return ss, nil
}

// adopt opens the specs carhop accepts on itself, in order, followed by
// the WithListener listeners. It is loop.Config.Adopt.
func (ss *sockets) adopt() ([]net.Listener, error) {
	var lns []net.Listener
	ss.counts = make([]int, len(ss.specs))
	for i, sp := range ss.specs {
		if ss.native[i] {
			continue
		}
		got, err := ss.open(sp)
		if err != nil {
			for _, ln := range lns {
				_ = ln.Close()
			}
			for _, ln := range ss.given {
				_ = ln.Close()
			}
			return nil, fmt.Errorf("carhop: %s: %w", sp, err)
		}
		ss.counts[i] = len(got)
		lns = append(lns, got...)
	}
	return append(lns, ss.given...), nil
}

// order puts the loop's addresses (gnet's, then the adopted ones) back in
// the order the listen specs were given, WithListener's last.
func (ss *sockets) order(loopAddrs []net.Addr) []net.Addr {
	nNative := 0
	for _, n := range ss.native {
		if n {
			nNative++
		}
	}
	if len(loopAddrs) < nNative || ss.counts == nil {
		return loopAddrs
	}
	native, adopted := loopAddrs[:nNative], loopAddrs[nNative:]
	out := make([]net.Addr, 0, len(loopAddrs))
	for i := range ss.specs {
		if ss.native[i] {
			out = append(out, native[0])
			native = native[1:]
			continue
		}
		k := min(ss.counts[i], len(adopted))
		out = append(out, adopted[:k]...)
		adopted = adopted[k:]
	}
	return append(out, adopted...)
}

// removeUnixFiles removes the socket files of the "unix:" specs, when a
// last process stops under graceful restart: the inherited listeners do
// not remove them on Close, as listeners carhop created do.
func (ss *sockets) removeUnixFiles() {
	for _, sp := range ss.specs {
		if sp.Kind == listen.Unix {
			listen.RemoveSocketFile(sp.Address)
		}
	}
}
