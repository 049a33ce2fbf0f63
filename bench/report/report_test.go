package report

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"

	"github.com/carhop/carhop/bench/runner"
)

func sample() *runner.Results {
	return &runner.Results{
		Command: "go run ./bench/cmd/bench -quick", Rounds: 1, Quick: true,
		Machine: runner.Machine{CPU: "test CPU", Cores: 2, Go: "go1.26"},
		Skipped: []runner.Skipped{{Server: "waitress", Reason: "not installed: apt-get install -y python3-waitress"}},
		Scenarios: []runner.ScenarioResult{
			{Name: "classic", Description: "d", Results: []runner.Measurement{
				{Server: "nginx", Kind: "external", RPS: 1000, RPSMin: 900, RPSMax: 1100, P99: 3 * time.Millisecond, Requests: 100},
				{Server: "carhop", Kind: "carhop", RPS: 800, RPSMin: 800, RPSMax: 800, P99: 2 * time.Millisecond, Requests: 100, Mode: time.Millisecond, ModeBucket: 100 * time.Microsecond},
				{Server: "sequential", Kind: "baseline", Error: "did not answer\nlog"},
				{Server: "goroutine-pool", Kind: "baseline", RPS: 900, RPSMin: 900, RPSMax: 900, P99: 100 * time.Microsecond, Requests: 100,
					Unanswered: 968, UnansweredWait: 4987 * time.Millisecond},
			}},
			{Name: "slow", Description: "s", Results: []runner.Measurement{
				{Server: "sequential", Kind: "baseline", SlowConnsTried: 500, SlowStillOpen: 500, P99Alone: time.Millisecond,
					Unanswered: 50, UnansweredWait: 3 * time.Second},
				{Server: "carhop", Kind: "carhop", SlowConnsTried: 500, SlowStillOpen: 500, RPS: 5000, Requests: 15000,
					P99Alone: time.Millisecond, P99: time.Millisecond},
			}},
			{Name: "idle", Description: "i", Results: []runner.Measurement{
				{Server: "carhop", Kind: "carhop", BytesPerIdleConn: 1272, IdleConns: 200, IdleCPU: 0.25},
			}},
			{Name: "slowread", Description: "r", Results: []runner.Measurement{
				{Server: "gunicorn-sync", Kind: "external", Readers: 100, ReadersAnswered: 1, ReaderBytes: 100 << 10,
					ServerRSS: 20 << 20, P99Alone: time.Millisecond, Unanswered: 50, UnansweredWait: 3 * time.Second},
				{Server: "carhop", Kind: "carhop", Readers: 100, ReadersAnswered: 100, ReadersCutOff: 2, ReaderBytes: 100 * 160 << 10,
					ServerRSS: 90 << 20, RPSAlone: 6543, RPS: 5000, Requests: 15000, P99Alone: time.Millisecond, P99: 2 * time.Millisecond},
				{Server: "nbio", Kind: "peer", Error: "did not answer"},
			}},
		},
	}
}

func TestTableShapeAndReference(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Table(&b, sample()))
	out := b.String()
	assert.Contains(t, out, "% NGINX (RPS)")
	assert.Contains(t, out, "80 %", "carhop at 800 of NGINX's 1000")
	assert.Contains(t, out, "failed")
	assert.NotContains(t, out, "\nlog", "only the first line of an error")
	assert.Contains(t, out, "1272")
	assert.Contains(t, out, "CPU while idle")
	assert.Contains(t, out, "0.25", "the idle server's CPU")
	assert.Contains(t, out, "skipped waitress")
	assert.Contains(t, out, "Unanswered")
	assert.Contains(t, out, "968 (waited up to 4987.00 ms)", "starved clients are shown")
	assert.Contains(t, out, "50 (waited up to 3000.00 ms)", "in the slow table too")
	assert.Contains(t, out, "1 of 100", "slow readers whose responses began")
	assert.Contains(t, out, "160", "KiB each carhop reader had")
	assert.Contains(t, out, "90 MiB", "the server's resident set")
	assert.Contains(t, out, "6543", "the rate before the readers came")
}

func TestWriteSkipsAChartWithNothingToDraw(t *testing.T) {
	res := sample()
	require.Equal(t, "slow", res.Scenarios[1].Name)
	res.Scenarios[1].Results = res.Scenarios[1].Results[:1] // only sequential, which served nobody
	files, err := Write(t.TempDir(), res)
	require.NoError(t, err)
	require.Len(t, files.Charts, 2, "classic and slowread; no slow.png")
	assert.Contains(t, files.Charts[0], "classic.png")
	assert.Contains(t, files.Charts[1], "slowread.png")
}

func TestEveryRowHasTheHeadersColumns(t *testing.T) {
	for _, sc := range sample().Scenarios {
		h := header(sc)
		for _, r := range rows(sc) {
			assert.Len(t, r, len(h), "%s: %v", sc.Name, r)
		}
	}
}

func TestUnansweredCell(t *testing.T) {
	for _, tc := range []struct {
		m    runner.Measurement
		want string
	}{
		{runner.Measurement{}, ""},
		{runner.Measurement{Unanswered: 3, UnansweredWait: 1500 * time.Microsecond}, "3 (waited up to 1.50 ms)"},
	} {
		assert.Equal(t, tc.want, unanswered(tc.m))
	}
}

func TestReferenceFallsBackToNetHTTP(t *testing.T) {
	sc := runner.ScenarioResult{Results: []runner.Measurement{{Server: "net-http", RPS: 500, Requests: 1}}}
	name, rps := reference(sc)
	assert.Equal(t, "net-http", name)
	assert.InDelta(t, 500, rps, 0)
	assert.Contains(t, strings.Join(header(sc), " "), "NGINX absent")
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := Write(dir, sample())
	require.NoError(t, err)
	md, err := os.ReadFile(files.Markdown)
	require.NoError(t, err)
	assert.Contains(t, string(md), "| carhop | 800 |")
	assert.Contains(t, string(md), "quick smoke run")
	var back runner.Results
	raw, err := os.ReadFile(files.JSON)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, sample().Scenarios[0].Results[1].RPS, back.Scenarios[0].Results[1].RPS)
	assert.Equal(t, 968, back.Scenarios[0].Results[3].Unanswered)
	assert.Contains(t, string(raw), `"unanswered": 968`)
	assert.Contains(t, string(md), "| 968 (waited up to 4987.00 ms) |")
	require.Len(t, files.Charts, 3, "no chart for the idle scenario")
	f, err := os.Open(files.Charts[0])
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Greater(t, img.Bounds().Dx(), 100)
}

func TestChartP99OnALogScale(t *testing.T) {
	sc := runner.ScenarioResult{Name: "classic", Results: []runner.Measurement{
		{Server: "sequential", RPS: 4700, P99: 970 * time.Microsecond, Requests: 1},
		{Server: "process-per-conn", RPS: 700, P99: 2572 * time.Millisecond, Requests: 1},
		{Server: "carhop", RPS: 47800, P99: 5630 * time.Microsecond, Requests: 1},
		{Server: "failed", Error: "did not answer"},
	}}
	path := t.TempDir() + "/classic.png"
	require.NoError(t, Chart(path, sc))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Positive(t, st.Size())

	p, err := logBars([]string{"a", "b"}, []float64{0.97, 2572}, "t", "ms")
	require.NoError(t, err)
	assert.IsType(t, plot.LogScale{}, p.Y.Scale)
	assert.InDelta(t, 0.1, p.Y.Min, 1e-12, "bars stand on the power of ten below the smallest value")
	assert.GreaterOrEqual(t, p.Y.Max, 2572.0)

	_, err = logBars([]string{"a"}, []float64{0}, "t", "ms")
	require.Error(t, err)
}

func TestDecadeTicks(t *testing.T) {
	labels := func(ticks []plot.Tick) []string {
		var out []string
		for _, tk := range ticks {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{0.1, 10000, []string{"0.1", "1", "10", "100", "1000", "10000"}},
		{1, 100, []string{"1", "2", "5", "10", "20", "50", "100"}},
		{0.5, 3, []string{"0.5", "1", "2"}},
	}
	for _, tc := range tests {
		ticks := decadeTicks{}.Ticks(tc.lo, tc.hi)
		assert.Equal(t, tc.want, labels(ticks), "%v..%v", tc.lo, tc.hi)
		for _, tk := range ticks {
			assert.True(t, tk.Value >= tc.lo*(1-1e-9) && tk.Value <= tc.hi*(1+1e-9), "tick %v inside %v..%v", tk.Value, tc.lo, tc.hi)
		}
	}
	assert.Empty(t, decadeTicks{}.Ticks(0, 1), "no log ticks from zero")
}
