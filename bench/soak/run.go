package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carhop/carhop/bench/runner"
)

// Config describes one soak run. Zero fields take the defaults.
type Config struct {
	// Duration is how long the traffic runs. Default 3 minutes. An
	// operation in progress at the end is finished, not cut, so the load
	// runs a few seconds longer (a slowloris round lasts slowlorisWait).
	Duration time.Duration
	// SampleEvery is the sampling period. Default 1s.
	SampleEvery time.Duration
	// Workers per kind; a missing kind gets DefaultWorkers, 0 leaves
	// the kind out.
	Workers map[Kind]int
	// ServerCPU pins the child to this CPU; -1 (or 0 with Pinning empty)
	// leaves it unpinned. The caller pins this process elsewhere.
	ServerCPU int
	// Pinning and Command describe the run, for the report.
	Pinning string
	Command string
	// SettleTimeout bounds the wait, after the load, for goroutines,
	// connections and spill files to come back to the start. Default 20s.
	SettleTimeout time.Duration
	// GoroutineMargin is how many goroutines above the start still count
	// as settled. Default 2.
	GoroutineMargin int
	// Progress is called after every sample with the time the load has
	// run; nil means silence.
	Progress func(elapsed, total time.Duration)
	// Log receives a line when the server fails to answer a sample.
	Log io.Writer
	// Restart runs the server with graceful restart (every socket then
	// goes through carhop's own accept) and replaces it under the load
	// (SIGHUP) before the drain, which is then the new process's. Linux
	// only: the soak adopts the new process to learn its exit status.
	Restart bool
}

func (c Config) normalize() Config {
	if c.Duration <= 0 {
		c.Duration = 3 * time.Minute
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = time.Second
	}
	w := map[Kind]int{}
	for _, k := range Kinds {
		n, ok := c.Workers[k]
		if !ok {
			n = DefaultWorkers[k]
		}
		w[k] = max(0, n)
	}
	c.Workers = w
	if c.Pinning == "" {
		c.ServerCPU = -1
	}
	if c.SettleTimeout <= 0 {
		c.SettleTimeout = 20 * time.Second
	}
	if c.GoroutineMargin <= 0 {
		c.GoroutineMargin = 2
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// The spill directory and, under Config.Restart, the PID file, in the
// directory the runner gives the child.
const (
	spillDir = "spill"
	pidFile  = "server.pid"
)

// childServer is the soak's server for runner.Start: this binary again,
// told by the environment to serve (see Child), spilling into a
// directory of its own inside the one the runner gives it, restarting on
// SIGHUP if restart is set.
func childServer(restart bool) runner.Server {
	return runner.Server{Name: "carhop-soak", Kind: "carhop", Command: func(addr, dir string) (*exec.Cmd, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		spill := filepath.Join(dir, spillDir)
		if err := os.Mkdir(spill, 0o700); err != nil {
			return nil, err
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), serveEnv+"="+addr, tempDirEnv+"="+spill)
		if restart {
			cmd.Env = append(cmd.Env, pidFileEnv+"="+filepath.Join(dir, pidFile))
		}
		return cmd, nil
	}}
}

// Run starts the soak's server in a child process, drives it with every
// kind of traffic for cfg.Duration while sampling it, stops the load,
// waits for the server to settle, then drains it under the load (see
// DrainResult) and returns what it measured. When ctx ends early the load
// stops, the server is still given its chance to settle (no drain), and
// the result so far is returned with Interrupted set and ctx's error.
// Other errors mean the server could not be started.
//
// The caller's main (or TestMain) must call Child first: the child is
// this binary re-executed.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.normalize()
	res := &Result{Started: time.Now().UTC(), Command: cfg.Command, Machine: runner.DescribeMachine(),
		Pinning: cfg.Pinning, Settings: settings(), Workers: cfg.Workers, Duration: cfg.Duration}
	if res.Pinning == "" {
		res.Pinning = "none"
	}
	runner.RaiseFileLimit()
	if cfg.Restart {
		// The new process outlives its parent, the child: made ours when
		// it is orphaned, its exit status can be waited for.
		if err := adoptOrphans(); err != nil {
			return nil, fmt.Errorf("soak: a restart run: %w", err)
		}
	}
	p, err := runner.Start(ctx, childServer(cfg.Restart), cfg.ServerCPU)
	if err != nil {
		return nil, fmt.Errorf("soak: starting the server: %w", err)
	}
	defer p.Stop()
	spill := filepath.Join(p.Dir(), spillDir)
	sm := newSampler(p.Pid(), p.Addr(), spill)
	defer sm.close()

	base, _ := sm.take(ctx, 0, 0)
	res.Samples = append(res.Samples, base)

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var done atomic.Int64
	var wg sync.WaitGroup
	tallies := map[Kind][]*tally{}
	var badClients []*badClient
	for _, k := range Kinds {
		for w := range cfg.Workers[k] {
			t := &tally{}
			tallies[k] = append(tallies[k], t)
			c := newClient(k, p.Addr(), w*5) // bad workers start apart in the rotation
			if b, ok := c.(*badClient); ok {
				badClients = append(badClients, b)
			}
			wg.Go(func() { work(loadCtx, c, t, deadline, &done) })
		}
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	tick := time.NewTicker(cfg.SampleEvery)
	defer tick.Stop()
sampling:
	for {
		select {
		case <-finished:
			break sampling
		case <-ctx.Done():
			stopLoad()
			<-finished
			break sampling
		case <-tick.C:
			s, _ := sm.take(ctx, time.Since(start), done.Load())
			if s.Error != "" {
				fmt.Fprintf(cfg.Log, "soak: sample at %v: %s\n", s.At.Round(time.Second), s.Error)
			}
			res.Samples = append(res.Samples, s)
			if cfg.Progress != nil {
				cfg.Progress(min(time.Since(start), cfg.Duration), cfg.Duration)
			}
		}
	}
	res.Elapsed = time.Since(start)
	res.Interrupted = ctx.Err() != nil
	for _, k := range Kinds {
		all := &tally{}
		for _, t := range tallies[k] {
			all.merge(t)
		}
		res.Kinds = append(res.Kinds, all.result(k, cfg.Workers[k], res.Elapsed))
	}
	res.BadCases = mergeBad(badClients)

	// The settling runs even after an interrupt, on its own clock: it
	// is what tells whether the server leaked.
	settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.SettleTimeout+5*time.Second)
	defer cancel()
	res.settle(settleCtx, sm, start, done.Load(), cfg, p.Exited)
	exited := p.Exited()
	if !exited && ctx.Err() == nil {
		res.Drain = drain(ctx, p, cfg)
	}
	if log, err := os.ReadFile(filepath.Join(p.Dir(), "server.log")); err == nil && len(log) > 0 {
		var first string
		res.DataRaces, first = dataRaces(string(log))
		res.ServerLog = first + tail(string(log), 4000)
	}
	if exited {
		return res, errors.New("soak: the server exited during the run")
	}
	return res, ctx.Err()
}

// work runs c's operations until deadline or ctx's end. An operation
// that ctx interrupted is not counted.
func work(ctx context.Context, c client, t *tally, deadline time.Time, done *atomic.Int64) {
	defer c.close()
	for ctx.Err() == nil && time.Now().Before(deadline) {
		o := c.do(ctx)
		if ctx.Err() != nil {
			return
		}
		t.add(o)
		done.Add(int64(o.served + o.expected))
	}
}

// settle samples the server after the load until it is back where it
// started (goroutines within the margin, no connection but the sampler's,
// no spill file open or on disk, nothing counted against the memory or
// descriptor budgets, no hijacked connection open), the timeout passes or
// the server has exited, and records the end figures.
func (res *Result) settle(ctx context.Context, sm *sampler, start time.Time, done int64, cfg Config, exited func() bool) {
	began := time.Now()
	base := res.Samples[0]
	var last Sample
	var lastStats ServerSample
	for {
		last, lastStats = sm.take(ctx, time.Since(start), done)
		res.Samples = append(res.Samples, last)
		st := lastStats.Server
		if last.Error == "" && last.Goroutines <= base.Goroutines+cfg.GoroutineMargin &&
			last.Connections <= 1 && last.OpenSpills == 0 && last.TempFiles == 0 &&
			st.BufferedBytes == 0 && st.OpenFiles == 0 && st.HijackedOpen == 0 {
			res.Settled = true
			break
		}
		if exited() || time.Since(began) > cfg.SettleTimeout || !sleep(ctx, 250*time.Millisecond) {
			break
		}
	}
	res.SettleTime = time.Since(began)
	res.TempFilesLeft, res.OpenSpillFiles = last.TempFiles, last.OpenSpills
	res.ServerEnd = lastStats
	res.ServerCPU, res.Steal = last.CPU-base.CPU, last.Steal-base.Steal
	res.RSS = rangeOf(res.Samples, func(s Sample) int64 { return s.RSS })
	res.Goroutines = rangeOf(res.Samples, func(s Sample) int64 { return int64(s.Goroutines) })
	res.HeapInuse = rangeOf(res.Samples, func(s Sample) int64 { return int64(s.HeapInuse) })
	res.Rates = rates(res.Samples, res.Elapsed)
	for _, s := range res.Samples {
		res.PeakOpenSpills = max(res.PeakOpenSpills, s.OpenSpills)
	}
}

func mergeBad(clients []*badClient) []BadCase {
	out := make([]BadCase, len(badCases))
	for i, bc := range badCases {
		out[i] = BadCase{Name: bc.name, Want: bc.want}
		for _, c := range clients {
			if c.cases == nil {
				continue
			}
			out[i].Sent += c.cases[i].Sent
			out[i].Exact += c.cases[i].Exact
			for st, n := range c.cases[i].Got {
				if out[i].Got == nil {
					out[i].Got = map[int]int{}
				}
				out[i].Got[st] += n
			}
		}
	}
	return out
}

// raceWarning starts each report of the race detector, and raceRule
// ends it.
const (
	raceWarning = "WARNING: DATA RACE"
	raceRule    = "=================="
)

// dataRaces counts the race detector's reports in a server's log (a
// server built with -race, as the soak test's child is under go test
// -race, reports each race when it happens and goes on), and returns the
// first of them whole: the log's tail may have lost it.
func dataRaces(log string) (n int, first string) {
	n = strings.Count(log, raceWarning)
	i := strings.Index(log, raceWarning)
	if i < 0 {
		return 0, ""
	}
	first = log[i:]
	if j := strings.Index(first, raceRule); j >= 0 {
		first = first[:j+len(raceRule)]
	}
	return n, first + "\n"
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
