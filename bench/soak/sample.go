package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carhop/carhop/bench/runner"
)

// Sample is one look at the child.
type Sample struct {
	// At is the time since the load started; the baseline before it is
	// at 0, the samples after it (while the server settles) are past
	// Result.Elapsed.
	At          time.Duration `json:"at_ns"`
	RSS         int64         `json:"rss_bytes"`
	Goroutines  int           `json:"goroutines"`
	HeapInuse   uint64        `json:"heap_inuse_bytes"`
	Connections int64         `json:"connections"`
	// OpenSpills counts the child's open descriptors of files in its
	// spill directory: carhop unlinks a spill file as it creates it, so
	// a leaked one shows here and not in the directory.
	OpenSpills int `json:"open_spill_files"`
	// TempFiles counts the entries of the spill directory.
	TempFiles int `json:"temp_files"`
	// CPU is the child's user and system CPU time so far, Steal the
	// machine's stolen time so far, NumGC the child's collections so
	// far: what tells a stall of the server from one of the machine.
	CPU   time.Duration `json:"cpu_ns"`
	Steal time.Duration `json:"steal_ns"`
	NumGC uint32        `json:"num_gc"`
	// Done is the requests the clients had completed (served and
	// expected refusals) when the sample was taken.
	Done  int64  `json:"done"`
	Error string `json:"error,omitempty"`
}

// sampler reads the child's figures: RSS and descriptors from /proc,
// the rest from the stats endpoint.
type sampler struct {
	pid      int
	addr     string
	spillDir string
	client   *http.Client
}

func newSampler(pid int, addr, spillDir string) *sampler {
	// No keep-alive: an idle connection of ours would show in
	// Connections at the end.
	return &sampler{pid: pid, addr: addr, spillDir: spillDir,
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
}

func (s *sampler) take(ctx context.Context, at time.Duration, done int64) (Sample, ServerSample) {
	sm := Sample{At: at, Done: done}
	var errs []string
	if rss, err := runner.RSS(s.pid); err == nil {
		sm.RSS = rss
	} else {
		errs = append(errs, err.Error())
	}
	if cpu, err := runner.ProcessCPU(s.pid); err == nil {
		sm.CPU = cpu
	} else {
		errs = append(errs, err.Error())
	}
	sm.Steal, _ = machineSteal() // absent outside a VM: zero
	sm.OpenSpills = openFilesUnder(s.pid, s.spillDir)
	if ents, err := os.ReadDir(s.spillDir); err == nil {
		sm.TempFiles = len(ents)
	}
	st, err := s.stats(ctx)
	if err != nil {
		errs = append(errs, err.Error())
	}
	sm.Goroutines, sm.HeapInuse, sm.Connections, sm.NumGC = st.Goroutines, st.HeapInuse, st.Server.Connections, st.NumGC
	sm.Error = strings.Join(errs, "; ")
	return sm, st
}

func (s *sampler) stats(ctx context.Context) (ServerSample, error) {
	var st ServerSample
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+"/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}

func (s *sampler) close() { s.client.CloseIdleConnections() }

// openFilesUnder counts pid's descriptors that name a file in dir,
// deleted or not.
func openFilesUnder(pid int, dir string) int {
	fds := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fds)
	if err != nil {
		return 0
	}
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && strings.HasPrefix(target, prefix) {
			n++
		}
	}
	return n
}

// Range is a figure at the start (before the load), at its peak and at
// the end (once the server settled).
type Range struct {
	Start int64 `json:"start"`
	Peak  int64 `json:"peak"`
	End   int64 `json:"end"`
}

// rangeOf is get over samples: the first, the largest and the last of
// those taken without an error (a failed stats request reads as zeros).
func rangeOf(samples []Sample, get func(Sample) int64) Range {
	var r Range
	first := true
	for _, s := range samples {
		if s.Error != "" {
			continue
		}
		v := get(s)
		if first {
			r.Start, first = v, false
		}
		r.Peak = max(r.Peak, v)
		r.End = v
	}
	return r
}

// Rate is the clients' completed requests per second between two
// samples, at the time of the later one.
type Rate struct {
	At  time.Duration `json:"at_ns"`
	RPS float64       `json:"rps"`
}

// rates derives the request rate from consecutive samples' Done; only
// samples taken while the load ran (At <= until) count.
func rates(samples []Sample, until time.Duration) []Rate {
	var out []Rate
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if b.At > until || b.At <= a.At {
			continue
		}
		out = append(out, Rate{At: b.At, RPS: float64(b.Done-a.Done) / (b.At - a.At).Seconds()})
	}
	return out
}
