package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/carhop/carhop/bench/baselines"
	"github.com/carhop/carhop/bench/load"
	"github.com/carhop/carhop/bench/peers"
)

// Options choose what to run.
type Options struct {
	// Servers and Scenarios by name; empty means all.
	Servers   []string
	Scenarios []string
	// Rounds is how many times each measurement is repeated; the report
	// gives medians. Default 3.
	Rounds int
	// Quick shrinks every scenario to a seconds-long smoke run.
	Quick bool
	// ServerCPU pins servers to this CPU; -1 leaves them unpinned. The
	// caller pins the load generator (this process) elsewhere.
	ServerCPU int
	// Pinning describes what was pinned where, for the report.
	Pinning string
	// Command is the command line, for the report.
	Command string
	// BehindNginx puts an NGINX reverse proxy in front of every server:
	// "buffered" (proxy_buffering on, NGINX's default) or "unbuffered".
	// Empty means direct.
	BehindNginx string
	// BaselineBinary, when set, is the binary the naive designs run from
	// (see BuildBaselineBinary); empty means the bench binary itself.
	BaselineBinary string
	// Progress is told about every step; nil means silence.
	Progress func(step, steps int, what string)
	// Log receives errors and skipped servers as they happen.
	Log io.Writer
}

// AllServers lists every server the suite knows, available or not.
func AllServers() []Server {
	var all []Server
	for _, n := range peers.Names() {
		kind := "peer"
		if n == "carhop" {
			kind = "carhop"
		}
		all = append(all, selfServer(n, kind))
	}
	for _, n := range baselines.Names() {
		s := selfServer(n, "baseline")
		if n == "process-per-conn" {
			s.MaxConns = 200 // each connection is a process of some megabytes
		}
		all = append(all, s)
	}
	return append(all, externalServers()...)
}

// Serve runs the named built-in server (a peer or a baseline) on addr until
// ctx ends: the bench binary's server mode.
func Serve(ctx context.Context, name, addr string) error {
	if _, ok := peers.Servers[name]; ok {
		return peers.Run(ctx, name, addr, func() {})
	}
	design, ok := baselines.Designs[name]
	if !ok {
		return fmt.Errorf("unknown server %q", name)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return design(ctx, ln.(*net.TCPListener))
}

// Run runs the suite.
func Run(ctx context.Context, opt Options) (*Results, error) {
	if opt.Rounds <= 0 {
		opt.Rounds = 3
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	servers, skipped, err := pickServers(opt.Servers)
	if err != nil {
		return nil, err
	}
	scenarios, err := pickScenarios(opt.Scenarios, opt.Quick)
	if err != nil {
		return nil, err
	}
	if opt.BehindNginx != "" && opt.BehindNginx != "buffered" && opt.BehindNginx != "unbuffered" {
		return nil, fmt.Errorf("BehindNginx is %q: want buffered or unbuffered", opt.BehindNginx)
	}
	if opt.BehindNginx != "" && missingBinary("nginx", "") != "" {
		return nil, errors.New("behind-nginx needs nginx: apt-get install -y nginx-light")
	}
	res := &Results{Started: time.Now().UTC(), Command: opt.Command, Machine: describeMachine(),
		Pinning: opt.Pinning, Rounds: opt.Rounds, Quick: opt.Quick, Skipped: skipped, BehindNginx: opt.BehindNginx,
		Baselines: "the bench binary (re-executed; its children pay for its whole package initialisation)"}
	if opt.BaselineBinary != "" {
		res.Baselines = "bench/cmd/baseline, built by the runner (only bench/baselines and the standard library)"
		useBaselineBinary(servers, opt.BaselineBinary)
	}
	for _, s := range skipped {
		fmt.Fprintf(opt.Log, "skipped %s: %s\n", s.Server, s.Reason)
	}
	raiseFileLimit()

	steps, step := len(scenarios)*opt.Rounds*len(servers), 0
	for _, sc := range scenarios {
		rounds := make(map[string][]Measurement)
		for r := 0; r < opt.Rounds; r++ {
			// Servers interleaved round by round, so that drift on a
			// shared machine hits all of them alike.
			for _, s := range servers {
				step++
				if opt.Progress != nil {
					opt.Progress(step, steps, fmt.Sprintf("%s %s round %d", sc.Name, s.Name, r+1))
				}
				if err := ctx.Err(); err != nil {
					return res, err
				}
				m := measure(ctx, s, sc, opt.ServerCPU, opt.BehindNginx)
				if m.Error != "" {
					fmt.Fprintf(opt.Log, "%s %s: %s\n", sc.Name, s.Name, m.Error)
				}
				rounds[s.Name] = append(rounds[s.Name], m)
			}
		}
		out := ScenarioResult{Name: sc.Name, Description: sc.Description}
		for _, s := range servers {
			out.Results = append(out.Results, median(rounds[s.Name]))
		}
		res.Scenarios = append(res.Scenarios, out)
	}
	return res, nil
}

// useBaselineBinary makes the naive designs among servers run from bin.
func useBaselineBinary(servers []Server, bin string) {
	for i, s := range servers {
		if s.Kind == "baseline" {
			servers[i] = binaryServer(s.Name, s.Kind, bin)
			servers[i].MaxConns = s.MaxConns
		}
	}
}

func pickServers(names []string) ([]Server, []Skipped, error) {
	all := AllServers()
	var picked []Server
	var skipped []Skipped
	for _, s := range all {
		if len(names) > 0 && !slices.Contains(names, s.Name) {
			continue
		}
		if s.Missing != "" {
			skipped = append(skipped, Skipped{Server: s.Name, Reason: s.Missing})
			continue
		}
		picked = append(picked, s)
	}
	for _, n := range names {
		if !slices.ContainsFunc(all, func(s Server) bool { return s.Name == n }) {
			return nil, nil, fmt.Errorf("unknown server %q", n)
		}
	}
	return picked, skipped, nil
}

func pickScenarios(names []string, quick bool) ([]Scenario, error) {
	if len(names) == 0 {
		for _, s := range Scenarios {
			names = append(names, s.Name)
		}
	}
	var out []Scenario
	for _, n := range names {
		s, ok := scenario(n)
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q", n)
		}
		if quick {
			s = s.quick()
		}
		out = append(out, s)
	}
	return out, nil
}

// measure runs one server through one scenario once, on a fresh process.
func measure(ctx context.Context, s Server, sc Scenario, cpu int, behind string) Measurement {
	m := Measurement{Server: s.Name, Kind: s.Kind}
	if behind != "" && sc.Idle > 0 {
		m.Error = "skipped: behind a proxy, idle client connections are the proxy's, not the server's"
		return m
	}
	if need := max(sc.Conns+sc.Slow+sc.Readers, sc.Idle); s.MaxConns > 0 && need > s.MaxConns {
		m.Error = fmt.Sprintf("skipped: %d connections would exceed this design's limit of %d", need, s.MaxConns)
		return m
	}
	p, err := start(ctx, s, cpu)
	if err != nil {
		m.Error = err.Error()
		return m
	}
	defer p.stop()
	if behind != "" {
		proxy, err := start(ctx, nginxProxy(p.addr, behind == "buffered"), cpu)
		if err != nil {
			m.Error = err.Error()
			return m
		}
		defer proxy.stop()
		p = &process{cmd: p.cmd, addr: proxy.addr}
	}
	switch {
	case sc.Idle > 0:
		err = measureIdle(ctx, p, sc, &m)
	case sc.Slow > 0:
		err = measureSlow(ctx, p, sc, &m)
	case sc.Readers > 0:
		err = measureSlowReaders(ctx, p, sc, &m)
	default:
		err = measureLoad(ctx, p, sc, &m)
	}
	if err != nil {
		m.Error = err.Error()
	}
	return m
}

func loadConfig(p *process, sc Scenario) load.Config {
	return load.Config{Addr: p.addr, Requests: sc.Requests, Duration: sc.Duration,
		Concurrency: sc.Conns, KeepAlive: sc.KeepAlive, Timeout: 10 * time.Second}
}

// warm runs a short load first: connection setup, JIT-free but cache- and
// allocator-warm servers, and the rate ScaleTo needs.
func warm(ctx context.Context, p *process, sc Scenario) (float64, error) {
	cfg := loadConfig(p, sc)
	cfg.Requests, cfg.Duration = 0, 300*time.Millisecond
	if sc.Conns > 100 {
		cfg.Concurrency = 100
	}
	r, err := load.Run(ctx, cfg)
	if err != nil {
		return 0, err
	}
	if r.Requests == 0 && r.Errors == 0 {
		// Nothing completed in the window (a process per connection takes
		// longer than that to start): wait for a few whole requests instead.
		cfg.Requests, cfg.Duration = min(cfg.Concurrency, 20), 0
		if r, err = load.Run(ctx, cfg); err != nil {
			return 0, err
		}
	}
	if r.Requests == 0 {
		return 0, fmt.Errorf("no response during warm-up (%d errors)", r.Errors)
	}
	return r.Stats.RPS, nil
}

func measureLoad(ctx context.Context, p *process, sc Scenario, m *Measurement) error {
	rate, err := warm(ctx, p, sc)
	if err != nil {
		return err
	}
	cfg := loadConfig(p, sc)
	if sc.ScaleTo > 0 {
		if n := int(rate * sc.ScaleTo.Seconds()); n > cfg.Requests {
			cfg.Requests = n
		}
	}
	r, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fill(m, r)
	if r.Requests == 0 {
		return fmt.Errorf("no successful request (%d errors, %d unanswered)", r.Errors, r.Unanswered)
	}
	return nil
}

func fill(m *Measurement, r load.Result) {
	st := r.Stats
	m.RPS, m.RPSMin, m.RPSMax = st.RPS, st.RPS, st.RPS
	m.Mean, m.Mode, m.ModeBucket, m.Worst = st.Mean, st.Mode, st.ModeBucket, st.Worst
	m.P50, m.P90, m.P99 = st.P50, st.P90, st.P99
	m.Requests, m.Errors, m.Non2xx = r.Requests, r.Errors, r.Non2xx
	m.Unanswered, m.UnansweredWait = r.Unanswered, r.UnansweredWait
}

func measureSlow(ctx context.Context, p *process, sc Scenario, m *Measurement) error {
	if _, err := warm(ctx, p, sc); err != nil {
		return err
	}
	alone, err := load.Run(ctx, loadConfig(p, sc))
	if err != nil {
		return err
	}
	stop, err := load.SlowClients(ctx, p.addr, sc.Slow, time.Second)
	if err != nil {
		return err
	}
	attacked, err := load.Run(ctx, loadConfig(p, sc))
	slow := stop()
	if err != nil {
		return err
	}
	// A design that serves nobody under attack has not failed the
	// benchmark: that is its result.
	fill(m, attacked)
	m.RPSAlone, m.P99Alone = alone.Stats.RPS, alone.Stats.P99
	m.SlowConnsTried, m.SlowClosed, m.SlowStillOpen = slow.Opened, slow.ClosedByServer, slow.StillOpen
	return nil
}

// readersSettle is how long the slow readers are given before the normal
// clients measure: time for every server to accept them and start their
// responses, a worker's worth each in the designs that write from one.
const readersSettle = time.Second

func measureSlowReaders(ctx context.Context, p *process, sc Scenario, m *Measurement) error {
	if _, err := warm(ctx, p, sc); err != nil {
		return err
	}
	alone, err := load.Run(ctx, loadConfig(p, sc))
	if err != nil {
		return err
	}
	stop, err := load.SlowReaders(ctx, p.addr, sc.Readers, load.SlowReadConfig{Path: peers.BigPath})
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-time.After(readersSettle):
	}
	during, err := load.Run(ctx, loadConfig(p, sc))
	rss, rssErr := RSS(p.pid())
	readers := stop()
	if err = errors.Join(err, rssErr); err != nil {
		return err
	}
	// A design that serves nobody while its workers write to slow
	// readers has not failed the benchmark: that is its result.
	fill(m, during)
	m.RPSAlone, m.P99Alone = alone.Stats.RPS, alone.Stats.P99
	m.Readers, m.ReadersAnswered, m.ReadersCutOff = readers.Opened, readers.Answered, readers.ClosedByServer
	m.ReaderBytes, m.ServerRSS = readers.Bytes, rss
	return nil
}

func measureIdle(ctx context.Context, p *process, sc Scenario, m *Measurement) error {
	r, err := IdleCost(ctx, p.addr, p.pid(), sc.Idle, time.Second, sc.IdleWatch)
	m.BytesPerIdleConn, m.IdleConns, m.IdleCPU = r.PerConn, r.Opened, r.CPU
	return err
}

// median combines the rounds of one server: medians of every figure and
// the range of requests per second over the rounds that succeeded (the log
// has the others' errors), or the first error if none did.
func median(rounds []Measurement) Measurement {
	var ok []Measurement
	for _, r := range rounds {
		if r.Error == "" {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return rounds[0]
	}
	out := ok[0]
	pick := func(get func(Measurement) float64) float64 {
		v := make([]float64, len(ok))
		for i, r := range ok {
			v[i] = get(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	dur := func(get func(Measurement) time.Duration) time.Duration {
		return time.Duration(pick(func(m Measurement) float64 { return float64(get(m)) }))
	}
	out.RPS = pick(func(m Measurement) float64 { return m.RPS })
	out.RPSMin, out.RPSMax = out.RPS, out.RPS
	for _, r := range ok {
		out.RPSMin, out.RPSMax = min(out.RPSMin, r.RPS), max(out.RPSMax, r.RPS)
	}
	out.Mean = dur(func(m Measurement) time.Duration { return m.Mean })
	out.Mode = dur(func(m Measurement) time.Duration { return m.Mode })
	out.Worst = dur(func(m Measurement) time.Duration { return m.Worst })
	out.P50 = dur(func(m Measurement) time.Duration { return m.P50 })
	out.P90 = dur(func(m Measurement) time.Duration { return m.P90 })
	out.P99 = dur(func(m Measurement) time.Duration { return m.P99 })
	out.RPSAlone = pick(func(m Measurement) float64 { return m.RPSAlone })
	out.P99Alone = dur(func(m Measurement) time.Duration { return m.P99Alone })
	out.Unanswered = int(pick(func(m Measurement) float64 { return float64(m.Unanswered) }))
	out.UnansweredWait = dur(func(m Measurement) time.Duration { return m.UnansweredWait })
	out.BytesPerIdleConn = int64(pick(func(m Measurement) float64 { return float64(m.BytesPerIdleConn) }))
	out.IdleCPU = pick(func(m Measurement) float64 { return m.IdleCPU })
	out.ReadersAnswered = int(pick(func(m Measurement) float64 { return float64(m.ReadersAnswered) }))
	out.ReadersCutOff = int(pick(func(m Measurement) float64 { return float64(m.ReadersCutOff) }))
	out.ReaderBytes = int64(pick(func(m Measurement) float64 { return float64(m.ReaderBytes) }))
	out.ServerRSS = int64(pick(func(m Measurement) float64 { return float64(m.ServerRSS) }))
	return out
}

// raiseFileLimit lifts the soft descriptor limit to the hard one, for the
// idle and c1000 scenarios; children inherit it.
func raiseFileLimit() {
	if err := setNoFile(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cannot raise the file limit:", err)
	}
}
