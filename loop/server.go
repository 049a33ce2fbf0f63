package loop

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/internal/clock"
)

// Config configures the event loops.
type Config struct {
	// Addrs are addresses gnet binds itself: "tcp://host:port",
	// "tcp6://[::1]:0".
	Addrs []string
	// Adopt, if set, is called once by Run for listeners carhop accepts
	// on itself and hands to the loops (Unix sockets, inherited and
	// systemd sockets, listeners the application made). The server owns
	// them from then on and closes them when it stops accepting.
	Adopt func() ([]net.Listener, error)
	// Loops is the number of event loops; 0 means [DefaultLoops].
	Loops int
	// ConnectionLimit bounds open connections, hijacked ones included
	// until closed; above it a new connection is answered 503 and
	// closed. 0 means no limit. New lowers it to fit the descriptor
	// limit (descriptors.go).
	ConnectionLimit int
	// Reserve is how many descriptors the application may hold besides
	// the connections, counted into what the descriptor limit keeps back
	// for it (descriptors.go); the adapter reserves one per worker.
	Reserve int
	// Sweep, if set, is called every CleanupInterval on the ticker's
	// goroutine, after the timeouts: the adapter looks there for hijacked
	// connections that have been closed. It must be quick.
	Sweep func()
	// Timeouts are applied every CleanupInterval.
	Timeouts        channel.Timeouts
	CleanupInterval time.Duration
	// PollInterval is how often channels whose output the socket could
	// not take are looked at again; QuickPollInterval how often those
	// whose sockets emptied since they were last looked at are (OnTick).
	PollInterval      time.Duration
	QuickPollInterval time.Duration
	// NapInterval is how long the ticker sleeps between ticks while no
	// channel waits for a poll (doze.go); 0 means DefaultNapInterval.
	NapInterval time.Duration
	// ReusePort sets SO_REUSEPORT so that several processes can share a
	// port.
	ReusePort bool
	// Channel configures every connection's channel. Its Poll hook is set
	// by the loop.
	Channel channel.Config
	Logger  *slog.Logger
}

// Server is a set of gnet event loops serving channels.
type Server struct {
	gnet.BuiltinEventEngine
	cfg Config
	ch  channel.Config

	eng     gnet.Engine
	booted  chan struct{}
	addrs   []net.Addr
	bootErr error

	// maxLinger bounds the refused connections that linger at once
	// (refuse, descriptors.go).
	maxLinger int

	open     atomic.Int64
	hijacked atomic.Int64 // connections handed to hijackers and not closed yet: they count toward the limit
	accepted atomic.Uint64
	draining atomic.Bool // channels answer with Connection: close and close when idle
	refusing atomic.Bool // the adopted listeners are closed: what reaches gnet's own gets 503
	// succeeded: another process holds the listening sockets now, and
	// takes what is queued on them (Succeeded).
	succeeded atomic.Bool
	intake    intake
	ticked    bool // OnTick has run: the loops are up

	sweeping sync.Mutex // held through a sweep of channels
	mu       sync.Mutex
	// channels holds every open connection's channel, and closed ones
	// until the ticker's next sweep: a slice costs an idle connection 8
	// bytes where a map entry cost 30 to 40, and a close touches nothing.
	channels []*channel.Channel
	// fresh holds the channels that have received nothing yet, with the
	// time they opened (unix nanos); most connections leave it at once.
	fresh map[*channel.Channel]int64
	// polls holds the channels to wake by how long they may wait (poll):
	// QuickPollInterval at level 0, PollInterval << (level-1) above;
	// pollStart is when each level's current wait began.
	polls     [pollLevels]map[*channel.Channel]struct{}
	pollStart [pollLevels]time.Time
	polled    map[*channel.Channel]int // the level each channel in polls waits at
	// refusals are the connections answered 503 at accept that are
	// lingering (refuse.go).
	refusals map[*refusal]struct{}
	// orphans are the channels still answering clients whose input ended
	// (orphan.go); orphaned counts their goroutines.
	orphans  map[*orphan]struct{}
	orphaned sync.WaitGroup
	lastScan time.Time
	doze     dozer
	sites    siteTable
}

// New prepares a server; Run starts it.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CleanupInterval <= 0 {
		cfg.CleanupInterval = time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	if cfg.QuickPollInterval <= 0 || cfg.QuickPollInterval > cfg.PollInterval {
		cfg.QuickPollInterval = min(time.Millisecond, cfg.PollInterval)
	}
	if cfg.NapInterval <= 0 {
		cfg.NapInterval = DefaultNapInterval
	}
	if cfg.Loops <= 0 {
		cfg.Loops = DefaultLoops()
	}
	plan := applyDescriptorPlan(&cfg, nofile())
	s := &Server{
		cfg:       cfg,
		maxLinger: plan.linger,
		booted:    make(chan struct{}),
		fresh:     make(map[*channel.Channel]int64),
		refusals:  make(map[*refusal]struct{}),
		orphans:   make(map[*orphan]struct{}),
	}
	s.doze.init()
	for i := range s.polls {
		s.polls[i] = make(map[*channel.Channel]struct{})
	}
	s.polled = make(map[*channel.Channel]int)
	s.ch = cfg.Channel.WithDefaults()
	s.ch.Poll = s.poll
	s.ch.HandedOver = s.handedOver
	return s
}

// Run serves until Stop. It returns once the engine has stopped.
func (s *Server) Run() error {
	err := s.run()
	s.intake.removePlaceholder()
	select {
	case <-s.booted:
	default:
		s.bootErr = err
		close(s.booted)
	}
	if err != nil {
		return fmt.Errorf("carhop: event loop: %w", err)
	}
	return nil
}

func (s *Server) run() error {
	s.intake.stopped = make(chan struct{})
	if s.cfg.Adopt != nil {
		lns, err := s.cfg.Adopt()
		if err != nil {
			return err
		}
		s.intake.lns = lns
	}
	addrs := s.cfg.Addrs
	lb := gnet.RoundRobin
	if len(s.intake.lns) > 0 {
		// Register picks a loop from another goroutine than gnet's
		// acceptor; RoundRobin's counter is not safe for that.
		lb = gnet.LeastConnections
		for _, ln := range s.intake.lns {
			s.intake.addrs = append(s.intake.addrs, ln.Addr())
		}
		if len(addrs) == 0 {
			private, err := s.intake.placeholder()
			if err != nil {
				s.closeAdopted()
				return err
			}
			addrs = []string{private}
		}
	}
	err := gnet.Rotate(s, addrs,
		gnet.WithNumEventLoop(s.cfg.Loops),
		gnet.WithLoadBalancing(lb),
		gnet.WithTicker(true),
		gnet.WithReuseAddr(true),
		gnet.WithReusePort(s.cfg.ReusePort),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{s.cfg.Logger}),
	)
	if err != nil {
		s.closeAdopted() // they never started; after a start Stop closed them
	}
	return err
}

// closeAdopted closes the adopted listeners when serving never started.
func (s *Server) closeAdopted() {
	s.intake.once.Do(func() {
		close(s.intake.stopped)
		for _, ln := range s.intake.lns {
			_ = ln.Close()
		}
	})
}

// Ready is closed once the listeners are bound and the loops run (or
// binding failed: then Addrs is empty and Run returns the error), or
// once Forgo says Run will not be called.
func (s *Server) Ready() <-chan struct{} { return s.booted }

// Forgo is for a server stopped before it ran: Run will not be called,
// and Ready's waiters go on, Started false. It may not race Run.
func (s *Server) Forgo() {
	select {
	case <-s.booted:
	default:
		s.bootErr = errForgone
		close(s.booted)
	}
}

var errForgone = errors.New("carhop: stopped before it ran")

// Started reports, after Ready, whether the loops run (else Run returns
// why not).
func (s *Server) Started() bool {
	select {
	case <-s.booted:
		return s.bootErr == nil
	default:
		return false
	}
}

// Addrs are the bound listener addresses, valid after Ready: those gnet
// bound (Config.Addrs, in order, with ports chosen for ":0"), then the
// adopted ones in the order Adopt gave them.
func (s *Server) Addrs() []net.Addr { return s.addrs }

// OnBoot records the addresses the listeners really bound (":0" included).
// Ready waits for the first OnTick, when the loops run.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	clock.Start()
	for _, a := range s.cfg.Addrs {
		network, addr, _ := strings.Cut(a, "://")
		if strings.HasPrefix(network, "tcp") {
			network = "tcp" // gnet files tcp4 and tcp6 listeners under "tcp"
		}
		fd, err := eng.DupListener(network, addr)
		if err != nil {
			s.cfg.Logger.Error("carhop: cannot inspect listener", "addr", a, "err", err)
			continue
		}
		if sa, err := unix.Getsockname(fd); err == nil {
			s.addrs = append(s.addrs, sockaddr(sa))
		}
		_ = unix.Close(fd)
	}
	s.addrs = append(s.addrs, s.intake.addrs...)
	return gnet.None
}

func sockaddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}

// OnOpen admits a connection, or answers 503 and closes it when the server
// is full or draining. gnet has already accepted it, so leaving it in the
// kernel's backlog is not possible.
func (s *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if s.intake.isPrivate(c.LocalAddr()) {
		return nil, gnet.Close // the placeholder serves no one
	}
	s.accepted.Add(1)
	// Counted before refusing is read: a drain sets refusing before it
	// counts (drain.go), so a connection is either refused here or
	// counted there, never opened behind a drain that found none open.
	n := s.open.Add(1)
	if s.refusing.Load() || s.cfg.ConnectionLimit > 0 && n+s.hijacked.Load() > int64(s.cfg.ConnectionLimit) {
		s.open.Add(-1)
		return s.refuse(c)
	}
	l := &link{c: c}
	l.ch.Init(s.site(c), l)
	ch := &l.ch
	c.SetContext((*fresh)(ch))
	s.mu.Lock()
	s.channels = append(s.channels, ch)
	s.fresh[ch] = time.Now().UnixNano()
	s.mu.Unlock()
	return nil, gnet.None
}

// OnTraffic feeds new input to the channel and pumps its output. A Wake
// from a worker lands here too, with no new input.
func (s *Server) OnTraffic(c gnet.Conn) gnet.Action {
	in, _ := c.Peek(-1)
	if _, ok := c.Context().(*refusal); ok {
		_, _ = c.Discard(len(in))
		return gnet.None
	}
	ch := s.channelOf(c, len(in) > 0)
	if ch == nil {
		return gnet.Close
	}
	if n := ch.Received(in); n > 0 {
		_, _ = c.Discard(n)
		s.ch.Counters.BytesIn.Add(uint64(n))
	}
	ch.Pump()
	if ch.HandedOff() {
		yieldToWorker()
	}
	return gnet.None
}

// OnClose releases the channel, whoever closed the connection, unless
// it still owes responses to a client whose input ended (outlive).
func (s *Server) OnClose(c gnet.Conn, err error) gnet.Action {
	if r, ok := c.Context().(*refusal); ok {
		s.forget(r)
		return gnet.None
	}
	ch := s.channelOf(c, false)
	if ch == nil {
		return gnet.None
	}
	c.SetContext(nil)
	if s.outlive(c, ch, err) {
		return gnet.None // the orphan has the channel, and its place in open
	}
	ch.Closed()
	s.mu.Lock()
	delete(s.fresh, ch)
	s.unpoll(ch)
	s.mu.Unlock()
	s.open.Add(-1)
	return gnet.None
}

// OnShutdown releases the coarse clock this server kept fresh, and ends
// a doze of the ticker, which gnet waits for.
func (s *Server) OnShutdown(gnet.Engine) {
	close(s.doze.quit)
	clock.Stop()
}

// Files is the budget of files the channels may hold open, nil when the
// process has no descriptor limit to keep to (descriptors.go).
func (s *Server) Files() *buffers.Descriptors { return s.ch.Files }

// handedOver is the channels' HandedOver hook. A hijacked connection
// leaves the loop but not the process: until its hijacker closes it, it
// holds a descriptor and keeps its place under the connection limit, as
// a connection from netutil.LimitListener keeps its slot until closed
// (the adapter notices the close in its Sweep and calls release).
// Otherwise a client could open websocket after websocket past any limit
// until the descriptors ran out, and gnet's accept with them (see
// descriptors.go). Shutdown does not wait for them, as net/http's does
// not.
func (s *Server) handedOver() func() {
	s.hijacked.Add(1)
	var once sync.Once
	return func() { once.Do(func() { s.hijacked.Add(-1) }) }
}

// Hijacked is the number of connections handed to hijackers and not
// closed yet.
func (s *Server) Hijacked() int64 { return s.hijacked.Load() }

// Open is the number of connections being served now.
func (s *Server) Open() int64 { return s.open.Load() }

// Accepted is the number of connections accepted since Run, including
// those refused at the connection limit or while draining.
func (s *Server) Accepted() uint64 { return s.accepted.Load() }

// Counters are the traffic counters of the server's channels.
func (s *Server) Counters() *channel.Counters { return s.ch.Counters }
