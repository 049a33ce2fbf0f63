package soak

import (
	"time"

	"github.com/carhop/carhop/bench/runner"
)

// Result is one soak run.
type Result struct {
	Started  time.Time      `json:"started"`
	Command  string         `json:"command"`
	Machine  runner.Machine `json:"machine"`
	Pinning  string         `json:"pinning"`
	Settings Settings       `json:"server_settings"`
	Workers  map[Kind]int   `json:"workers"`
	// Duration is the configured load time, Elapsed the time it ran
	// (longer by the operations finished after the deadline, shorter
	// when Interrupted).
	Duration    time.Duration `json:"duration_ns"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	Interrupted bool          `json:"interrupted,omitempty"`

	Kinds    []KindResult `json:"kinds"`
	BadCases []BadCase    `json:"bad_cases"`

	// The child's figures: start is before the load, end once settled.
	RSS        Range `json:"rss_bytes"`
	Goroutines Range `json:"goroutines"`
	HeapInuse  Range `json:"heap_inuse_bytes"`
	// Settled reports whether the server came back to its start within
	// the settle timeout, after SettleTime.
	Settled        bool          `json:"settled"`
	SettleTime     time.Duration `json:"settle_time_ns"`
	TempFilesLeft  int           `json:"temp_files_left"`
	OpenSpillFiles int           `json:"open_spill_files_left"`
	// PeakOpenSpills is the most spill files the samples caught open at
	// once: proof that bodies and outputs went through the disk.
	PeakOpenSpills int `json:"peak_open_spill_files"`
	// ServerCPU is the CPU time the child used from the first sample to
	// the last; Steal the time the hypervisor took from the machine's
	// CPUs meanwhile (zero outside a virtual machine).
	ServerCPU time.Duration `json:"server_cpu_ns"`
	Steal     time.Duration `json:"steal_ns"`
	// ServerEnd is the child's last stats: carhop's counters over the
	// whole run (requests, refusals by status, spilled bodies and outputs).
	ServerEnd ServerSample `json:"server_end"`
	// DataRaces counts the race detector's reports in the server's log:
	// 0 unless the server was built with -race and raced. ServerLog is
	// the first such report, if any, and the log's tail.
	DataRaces int    `json:"data_races"`
	ServerLog string `json:"server_log,omitempty"`
	// Drain is the drain that ends the run: nil when the run was
	// interrupted.
	Drain *DrainResult `json:"drain,omitempty"`

	Samples []Sample `json:"samples"`
	Rates   []Rate   `json:"rates"`
}

// Errors is the number of unexpected failures over every kind.
func (r *Result) Errors() int {
	n := 0
	for _, k := range r.Kinds {
		n += k.ErrorCount()
	}
	return n
}

// Kind returns the result of kind k, and whether it ran.
func (r *Result) Kind(k Kind) (KindResult, bool) {
	for _, kr := range r.Kinds {
		if kr.Kind == k {
			return kr, true
		}
	}
	return KindResult{}, false
}
