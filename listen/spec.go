package listen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Kind says what a Spec names.
type Kind int

// The kinds of listen spec.
const (
	TCP     Kind = iota // "host:port": a TCP socket carhop creates
	Unix                // "unix:/path": a Unix domain socket carhop creates
	FD                  // "fd:N": a listening socket inherited as descriptor N
	Systemd             // "systemd" or "systemd:name": sockets from systemd socket activation
)

func (k Kind) String() string {
	switch k {
	case TCP:
		return "tcp"
	case Unix:
		return "unix"
	case FD:
		return "fd"
	case Systemd:
		return "systemd"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Spec is a parsed listen spec.
type Spec struct {
	Kind Kind
	// Network is "tcp4", "tcp6" or "tcp" for TCP (an IPv6 literal gets
	// "tcp6", which also makes the socket IPv6-only, so that "0.0.0.0:p"
	// and "[::]:p" can be listened on together, as in Waitress), and
	// "unix" for Unix.
	Network string
	// Address is "host:port" for TCP, the socket path for Unix ("@name" is
	// a Linux abstract socket) and the socket name for Systemd ("" for
	// every socket systemd passed).
	Address string
	// FD is the descriptor number for FD.
	FD int
}

// Parse parses a listen spec:
//
//	host:port, :port, [ipv6]:port   TCP ("localhost:8080", ":0", "[::]:8080")
//	unix:/path/to/socket            Unix domain socket ("unix://path" too)
//	fd:N, fd://N                    an inherited listening socket, descriptor N
//	systemd, systemd:name           sockets passed by systemd socket activation
//
// The port must be numeric.
func Parse(s string) (Spec, error) {
	switch {
	case s == "systemd":
		return Spec{Kind: Systemd}, nil
	case strings.HasPrefix(s, "systemd:"):
		name := strings.TrimPrefix(s, "systemd:")
		if name == "" || strings.ContainsAny(name, ":\x00") {
			return Spec{}, fmt.Errorf("listen: %q: bad systemd socket name", s)
		}
		return Spec{Kind: Systemd, Address: name}, nil
	case strings.HasPrefix(s, "unix:"):
		path := strings.TrimPrefix(s, "unix:")
		if p, ok := strings.CutPrefix(path, "//"); ok {
			path = p
		}
		if path == "" || path == "@" || strings.IndexByte(path, 0) >= 0 {
			return Spec{}, fmt.Errorf("listen: %q: bad unix socket path", s)
		}
		return Spec{Kind: Unix, Network: "unix", Address: path}, nil
	case strings.HasPrefix(s, "fd:"):
		num := strings.TrimPrefix(strings.TrimPrefix(s, "fd:"), "//")
		fd, err := strconv.Atoi(num)
		if err != nil || fd < 0 || strconv.Itoa(fd) != num {
			return Spec{}, fmt.Errorf("listen: %q: bad descriptor number", s)
		}
		return Spec{Kind: FD, FD: fd}, nil
	}
	return parseTCP(s)
}

func parseTCP(s string) (Spec, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Spec{}, fmt.Errorf("listen: %q: %w", s, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return Spec{}, fmt.Errorf("listen: %q: bad port %q", s, port)
	}
	if host == "" {
		return Spec{Kind: TCP, Network: "tcp", Address: s}, nil
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		if !validHostname(host) {
			return Spec{}, fmt.Errorf("listen: %q: bad host %q", s, host)
		}
		return Spec{Kind: TCP, Network: "tcp", Address: s}, nil
	case ip.Is4() || ip.Is4In6():
		return Spec{Kind: TCP, Network: "tcp4", Address: s}, nil
	default:
		return Spec{Kind: TCP, Network: "tcp6", Address: s}, nil
	}
}

// validHostname accepts letters, digits, '-', '.' and '_': enough for
// "localhost" and DNS names, and nothing a resolver would choke on.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// String is the spec in Parse's canonical form; it names the spec's
// sockets when they are passed to a new process on a graceful restart.
func (s Spec) String() string {
	switch s.Kind {
	case Unix:
		if strings.HasPrefix(s.Address, "//") {
			return "unix://" + s.Address // Parse would take "unix://" off it
		}
		return "unix:" + s.Address
	case FD:
		return "fd:" + strconv.Itoa(s.FD)
	case Systemd:
		if s.Address == "" {
			return "systemd"
		}
		return "systemd:" + s.Address
	}
	return s.Address
}

// ErrNoSystemdSockets means that systemd passed this process no socket
// (or none of the name asked for).
var ErrNoSystemdSockets = errors.New("listen: no socket from systemd socket activation (LISTEN_PID/LISTEN_FDS not set for this process)")
