package runner

import "time"

// Results is one run of the suite.
type Results struct {
	Started time.Time `json:"started"`
	Command string    `json:"command"`
	Machine Machine   `json:"machine"`
	Pinning string    `json:"pinning"`
	Rounds  int       `json:"rounds"`
	Quick   bool      `json:"quick"`
	// BehindNginx is "", "buffered" or "unbuffered": see Options.
	BehindNginx string `json:"behind_nginx,omitempty"`
	// Baselines says which binary the naive designs ran from (the
	// process designs start it once per child).
	Baselines string           `json:"baselines_binary,omitempty"`
	Skipped   []Skipped        `json:"skipped,omitempty"`
	Scenarios []ScenarioResult `json:"scenarios"`
}

// Skipped is a server that could not run here.
type Skipped struct {
	Server string `json:"server"`
	Reason string `json:"reason"`
}

// ScenarioResult holds every server's measurement of one scenario.
type ScenarioResult struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Results     []Measurement `json:"results"`
}

// Measurement is one server in one scenario: medians over the rounds,
// with the range of requests per second.
type Measurement struct {
	Server string `json:"server"`
	Kind   string `json:"kind"`
	Error  string `json:"error,omitempty"`

	RPS        float64       `json:"rps,omitempty"`
	RPSMin     float64       `json:"rps_min,omitempty"`
	RPSMax     float64       `json:"rps_max,omitempty"`
	Mean       time.Duration `json:"mean_ns,omitempty"`
	Mode       time.Duration `json:"mode_ns,omitempty"`
	ModeBucket time.Duration `json:"mode_bucket_ns,omitempty"`
	Worst      time.Duration `json:"worst_ns,omitempty"`
	P50        time.Duration `json:"p50_ns,omitempty"`
	P90        time.Duration `json:"p90_ns,omitempty"`
	P99        time.Duration `json:"p99_ns,omitempty"`
	Requests   int           `json:"requests,omitempty"`
	Errors     int           `json:"errors,omitempty"`
	Non2xx     int           `json:"non_2xx,omitempty"`
	// Timed scenarios: requests left waiting at the end of the run for
	// longer than any answered request took (load.Result.Unanswered),
	// and the longest such wait.
	Unanswered     int           `json:"unanswered,omitempty"`
	UnansweredWait time.Duration `json:"unanswered_wait_ns,omitempty"`

	// Idle scenario.
	BytesPerIdleConn int64   `json:"bytes_per_idle_conn,omitempty"`
	IdleConns        int     `json:"idle_conns,omitempty"`
	IdleCPU          float64 `json:"idle_cpu_percent,omitempty"` // of one CPU, over the scenario's IdleWatch
	// Slow scenario: the normal clients' rate and p99 without and with
	// the slowloris clients, and what became of those. (Slowread takes
	// RPSAlone and P99Alone too.)
	RPSAlone       float64       `json:"rps_alone,omitempty"`
	P99Alone       time.Duration `json:"p99_alone_ns,omitempty"`
	SlowClosed     int           `json:"slow_closed_by_server,omitempty"`
	SlowStillOpen  int           `json:"slow_still_open,omitempty"`
	SlowConnsTried int           `json:"slow_conns,omitempty"`
	// Slowread scenario: the slow readers, how many had had their
	// response's head by the end (the rest waited for a worker), how many
	// the server cut off, the bytes they received, and the server's
	// resident set while they read (what their responses cost it).
	Readers         int   `json:"readers,omitempty"`
	ReadersAnswered int   `json:"readers_answered,omitempty"`
	ReadersCutOff   int   `json:"readers_cut_off,omitempty"`
	ReaderBytes     int64 `json:"reader_bytes,omitempty"`
	ServerRSS       int64 `json:"server_rss,omitempty"`
}

// Answered reports whether the server served the scenario at all.
func (m Measurement) Answered() bool {
	return m.Error == "" && (m.Requests > 0 || m.IdleConns > 0 || m.SlowConnsTried > 0 || m.Readers > 0)
}
