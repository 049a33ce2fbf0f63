package loop

import (
	"math"

	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/channel/buffers"
)

// gnet stops its whole engine, every connection with it, when an accept
// on a listener of its own fails for any reason but a retryable few, and
// running out of descriptors (EMFILE) is not one of them: net/http backs
// off and tries again, a gnet server dies. So carhop keeps its own use of
// descriptors below the process's limit (RLIMIT_NOFILE), read once when
// the server is made, and divides it:
//
//   - headroom, a sixteenth (64 at least) and Config.Reserve (one per
//     worker) on top, for everything carhop does not count: listeners,
//     epoll and eventfd descriptors, the Go runtime's, a connection the
//     intake holds twice while handing it over, and the own files and
//     connections of the handlers on workers;
//   - one per connection up to the connection limit, and up to a
//     sixteenth (256 at most) for connections over it, which linger
//     after their 503;
//   - the rest, an eighth at least, for what channels hold beyond their
//     sockets: temporary files of request bodies and responses, files
//     being sent, and one for each handler that left the worker pool,
//     which the threads no longer bound (channel.Config.Files). Past it,
//     output waits in memory, a file is copied rather than queued, a
//     body that needs a temporary file is refused with 503, and a
//     handler that streams keeps its worker.
//
// A connection limit that leaves the files less than their eighth is
// lowered to fit, with a warning: a server that refuses some clients
// beats one that stops. Hijacked connections count as connections until
// closed (handedOver). What stays exposed is what carhop cannot count:
// handlers' descriptors past one each, and those of goroutines they
// leave behind, which are the application's to bound.

// lingerShare bounds the refused connections that linger at once, as a
// fraction of the descriptor limit.
const lingerShare = 16

// descriptorPlan is how a server divides its descriptor limit.
type descriptorPlan struct {
	conns   int // the connection limit to apply
	linger  int // refused connections that may linger at once
	files   int // channel.Config.Files's limit
	lowered bool
}

// planDescriptors divides nofile descriptors for a connection limit of
// conns (≤ 0: none) and reserve descriptors of the application's.
func planDescriptors(conns, reserve, nofile int) descriptorPlan {
	p := descriptorPlan{conns: conns, linger: min(maxLingeringRefusals, nofile/lingerShare)}
	headroom := max(64, nofile/16) + max(reserve, 0)
	minFiles := nofile / 8
	if conns <= 0 { // no connection limit: nothing to keep the files from
		p.files = max(minFiles, (nofile-headroom-p.linger)/2)
		return p
	}
	p.files = nofile - headroom - p.linger - conns
	if p.files < minFiles {
		p.conns = max(1, nofile-headroom-p.linger-minFiles)
		p.files = minFiles
		p.lowered = p.conns < conns
	}
	return p
}

// nofile is the process's soft limit on open descriptors, or 0 when it
// cannot be read or is unlimited.
func nofile() int {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil || lim.Cur == unix.RLIM_INFINITY || lim.Cur > math.MaxInt32 {
		return 0
	}
	return int(lim.Cur)
}

// applyDescriptorPlan fits cfg to the process's descriptor limit, unless
// it set a file budget of its own.
func applyDescriptorPlan(cfg *Config, limit int) descriptorPlan {
	if limit <= 0 {
		return descriptorPlan{conns: cfg.ConnectionLimit, linger: maxLingeringRefusals}
	}
	p := planDescriptors(cfg.ConnectionLimit, cfg.Reserve, limit)
	if p.lowered {
		cfg.Logger.Warn("carhop: connection limit lowered to fit the descriptor limit (RLIMIT_NOFILE): raise it, or set a lower connection limit",
			"connection_limit", cfg.ConnectionLimit, "lowered_to", p.conns, "nofile", limit, "file_limit", p.files)
		cfg.ConnectionLimit = p.conns
	}
	if cfg.Channel.Files == nil {
		cfg.Channel.Files = buffers.NewDescriptors(p.files)
	}
	return p
}
