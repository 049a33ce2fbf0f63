package loop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	gerrors "github.com/panjf2000/gnet/v2/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/channel"
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
	// Loops is the number of event loops; 0 means GOMAXPROCS.
	Loops int
	// ConnectionLimit bounds open connections; above it a new connection
	// is answered 503 and closed. 0 means no limit.
	ConnectionLimit int
	// Timeouts are applied every CleanupInterval.
	Timeouts        channel.Timeouts
	CleanupInterval time.Duration
	// PollInterval is how often channels whose output the socket could
	// not take are looked at again; QuickPollInterval how often those
	// whose sockets emptied since they were last looked at are (OnTick).
	PollInterval      time.Duration
	QuickPollInterval time.Duration
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

	open     atomic.Int64
	accepted atomic.Uint64
	draining atomic.Bool // channels answer with Connection: close and close when idle
	refusing atomic.Bool // the adopted listeners are closed: what reaches gnet's own gets 503
	intake   intake
	ticked   bool // OnTick has run: the loops are up

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
	if cfg.Loops <= 0 {
		cfg.Loops = runtime.GOMAXPROCS(0)
	}
	s := &Server{
		cfg:      cfg,
		booted:   make(chan struct{}),
		fresh:    make(map[*channel.Channel]int64),
		refusals: make(map[*refusal]struct{}),
		orphans:  make(map[*orphan]struct{}),
	}
	for i := range s.polls {
		s.polls[i] = make(map[*channel.Channel]struct{})
	}
	s.polled = make(map[*channel.Channel]int)
	s.ch = cfg.Channel.WithDefaults()
	s.ch.Poll = s.poll
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
// binding failed: then Addrs is empty and Run returns the error).
func (s *Server) Ready() <-chan struct{} { return s.booted }

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
	if s.refusing.Load() {
		return s.refuse(c)
	}
	if n := s.open.Add(1); s.cfg.ConnectionLimit > 0 && n > int64(s.cfg.ConnectionLimit) {
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

// unpoll forgets a closed channel's poll. s.mu held.
func (s *Server) unpoll(ch *channel.Channel) {
	if level, ok := s.polled[ch]; ok {
		delete(s.polls[level], ch)
		delete(s.polled, ch)
	}
}

// pollLevels are the waits a channel can ask for: quick, then
// PollInterval doubled up to MaxBackoff times.
const pollLevels = channel.MaxBackoff + 2

// poll is the channels' Poll hook: backoff -1 asks for the quick level,
// 0 for PollInterval, and each further pump that moved nothing doubles
// the wait, up to 64 times PollInterval (320 ms by default).
//
// A channel waits at one level at a time, the soonest it asked for: the
// pump and a paused writer may both ask.
func (s *Server) poll(ch *channel.Channel, backoff int) {
	level := min(max(backoff+1, 0), pollLevels-1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.polled[ch]; ok {
		if cur <= level {
			return
		}
		delete(s.polls[cur], ch)
	}
	if len(s.polls[level]) == 0 {
		s.pollStart[level] = time.Now()
	}
	s.polls[level][ch] = struct{}{}
	s.polled[ch] = level
}

// pollWait is how long a channel at level waits to be woken.
func (s *Server) pollWait(level int) time.Duration {
	if level == 0 {
		return s.cfg.QuickPollInterval
	}
	return s.cfg.PollInterval << (level - 1)
}

// OnTick wakes channels waiting for their sockets to drain and, every
// CleanupInterval, applies the timeouts.
//
// gnet says nothing when a socket drains, so a channel whose output the
// socket could not take asks to be woken (channel.Config.Poll), and how
// soon depends on its client. One whose socket emptied since its last
// pump reads faster than the usual interval lets it: it is woken
// QuickPollInterval after it asks, and ticks come that often while one
// waits (a socket that empties in a millisecond would otherwise sit idle
// for four). One whose pumps keep finding the socket full waits twice as
// long after each, up to 64 times PollInterval: a thousand clients
// reading 40 KB/s each, with 3 MiB responses waiting in the server, cost
// it 15 % of a CPU in polls every 5 ms that moved nothing, 2-3 % with this
// backoff (net/http: none, its handlers blocked instead). The first pump
// that moves anything brings the channel back to PollInterval, and a
// channel whose socket once emptied between two polls never waits longer
// than that: a client reading 200 MB/s would empty its socket during a
// long wait and sit idle (channel.Pump).
//
// Two other ways were measured and dropped: polling every waiting
// channel each millisecond cost a download to a client reading 200 MB/s
// a third more CPU, and waking channels on EPOLLOUT from an epoll set of
// the loop's own about 1.7 times as much.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	if !s.ticked {
		// The loops are registered and running now: Register works.
		s.ticked = true
		s.startIntake()
		close(s.booted)
	}
	now := time.Now()
	clock.Tick(now)
	next := s.cfg.PollInterval // the coarse clock and the timeouts need no more
	s.mu.Lock()
	var wake []*channel.Channel
	for level, chs := range s.polls {
		if len(chs) == 0 {
			continue
		}
		due := s.pollStart[level].Add(s.pollWait(level))
		if now.Before(due) {
			next = min(next, due.Sub(now))
			continue
		}
		for ch := range chs {
			wake = append(wake, ch)
			delete(s.polled, ch)
		}
		clear(chs)
		if level == 0 { // they are likely to ask again at once
			next = min(next, s.cfg.QuickPollInterval)
		}
	}
	sweep := now.Sub(s.lastScan) >= s.cfg.CleanupInterval
	if sweep {
		s.lastScan = now
	}
	s.mu.Unlock()
	for _, ch := range wake {
		ch.Wake()
	}
	if sweep {
		s.sweep(func(ch *channel.Channel) { ch.Expire(now, s.cfg.Timeouts) })
		s.expireRefusals(now)
	}
	return next, gnet.None
}

// OnShutdown releases the coarse clock this server kept fresh.
func (s *Server) OnShutdown(gnet.Engine) { clock.Stop() }

// Open is the number of connections being served now.
func (s *Server) Open() int64 { return s.open.Load() }

// Accepted is the number of connections accepted since Run, including
// those refused at the connection limit or while draining.
func (s *Server) Accepted() uint64 { return s.accepted.Load() }

// Counters are the traffic counters of the server's channels.
func (s *Server) Counters() *channel.Counters { return s.ch.Counters }

// Drain stops accepting on the adopted listeners (closing them; what the
// kernel has queued stays there for whoever holds the socket next),
// answers connections that still reach gnet's own listeners 503, lets
// every channel finish the requests it has (received, queued or running)
// and deliver their responses, closes each as it becomes idle, and returns
// once none is left or ctx ends. A connection that has sent nothing yet is
// given newConnGrace for its first request.
func (s *Server) Drain(ctx context.Context) error {
	// Channels are marked before the listeners close, so that a client
	// that sees a listener closed finds its connections draining too.
	// What an adopted listener accepted until it closed is served (once,
	// with Connection: close): the client is already connected to us.
	s.draining.Store(true)
	left := s.drainSettled()
	s.stopIntake()
	s.refusing.Store(true)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for left > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		left = s.drainSettled()
	}
	return nil
}

// CloseIdle closes every connection once it has no request in progress
// (at once for those idle now), as a drain does, but goes on accepting
// and serving new connections: http.Server's SetKeepAlivesEnabled(false).
// A connection that has sent nothing yet keeps newConnGrace for its first
// request. The mark stays: a connection marked closes when next idle.
func (s *Server) CloseIdle() { s.drainSettled() }

// drainSettled marks draining every channel past its newConnGrace and
// returns how many channels are still open.
func (s *Server) drainSettled() int {
	young := time.Now().Add(-newConnGrace).UnixNano()
	s.sweep(func(ch *channel.Channel) {
		s.mu.Lock()
		opened, fresh := s.fresh[ch]
		s.mu.Unlock()
		if !fresh || opened < young {
			ch.Drain()
		}
	})
	return int(s.open.Load())
}

// sweepBatch is how many channels a sweep checks per hold of s.mu.
const sweepBatch = 256

// sweep drops closed channels from the registry and calls visit with each
// open one. Channels are checked, and visited, without s.mu held (Gone
// takes the channel's mutex); those opened meanwhile are kept as they
// are, unvisited. The ticker and a drain may sweep at the same time:
// sweeps take turns.
//
// It works through the registry a batch at a time, compacting it in
// place, rather than on a copy: a copy is 8 bytes of garbage per
// connection per CleanupInterval, which a server with nothing to do but
// hold idle connections would spend growing its heap (10,000 idle
// connections grew the resident set by 120 bytes each in 15 seconds).
func (s *Server) sweep(visit func(*channel.Channel)) {
	s.sweeping.Lock()
	defer s.sweeping.Unlock()
	s.mu.Lock()
	seen := len(s.channels) // only sweeps shrink the registry
	s.mu.Unlock()
	var batch [sweepBatch]*channel.Channel
	kept := 0
	for next := 0; next < seen; {
		s.mu.Lock()
		n := copy(batch[:], s.channels[next:seen])
		s.mu.Unlock()
		next += n
		open := batch[:0]
		for _, ch := range batch[:n] {
			if !ch.Gone() {
				open = append(open, ch)
			}
		}
		// kept+len(open) <= next: only slots already read are written.
		s.mu.Lock()
		kept += copy(s.channels[kept:], open)
		s.mu.Unlock()
		for _, ch := range open {
			visit(ch)
		}
	}
	s.mu.Lock()
	kept += copy(s.channels[kept:], s.channels[seen:])
	clear(s.channels[kept:])
	s.channels = s.channels[:kept]
	s.mu.Unlock()
}

// Stop stops the engine, closing whatever connections remain.
func (s *Server) Stop(ctx context.Context) error {
	<-s.booted
	if started := s.bootErr == nil; !started {
		return nil // Run already returned the reason
	}
	s.stopIntake()
	err := s.eng.Stop(ctx)
	s.closeOrphans()
	if err != nil && !errors.Is(err, gerrors.ErrEngineInShutdown) {
		return fmt.Errorf("carhop: stopping event loops: %w", err)
	}
	return nil
}
