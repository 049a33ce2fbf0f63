package soak

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleResult() *Result {
	return &Result{
		Command: "go run ./bench/cmd/soak -quick", Duration: 10 * time.Second, Elapsed: 11 * time.Second,
		Settings: settings(), Pinning: "none", Settled: true, SettleTime: time.Second,
		ServerCPU: 5500 * time.Millisecond, Steal: 300 * time.Millisecond,
		Kinds: []KindResult{
			{Kind: Small, Workers: 4, Served: 4000, RPS: 400, P50: 2 * time.Millisecond, P99: 9 * time.Millisecond, Worst: 12 * time.Millisecond, Operations: 4000},
			{Kind: Bad, Workers: 1, Expected: 600, RPS: 60, Errors: map[string]int{ErrStatus: 1}, Examples: []string{"unexpected status: 200"}},
		},
		BadCases:   []BadCase{{Name: "bare LF", Want: 400, Sent: 50, Exact: 49, Got: map[int]int{200: 1}}},
		RSS:        Range{Start: 14 << 20, Peak: 20 << 20, End: 19 << 20},
		Goroutines: Range{Start: 26, Peak: 30, End: 26},
		Samples: []Sample{
			{At: 0, RSS: 14 << 20, Goroutines: 26},
			{At: 5 * time.Second, RSS: 20 << 20, Goroutines: 30, Done: 2000},
			{At: 10 * time.Second, Error: "stats: timeout"},
			{At: 12 * time.Second, RSS: 19 << 20, Goroutines: 26, Done: 4600},
		},
		Rates: []Rate{{At: 5 * time.Second, RPS: 400}},
	}
}

func TestTableAndMarkdown(t *testing.T) {
	res := sampleResult()
	var b bytes.Buffer
	require.NoError(t, Table(&b, res))
	out := b.String()
	assert.Contains(t, out, "small")
	assert.Contains(t, out, "1 unexpected status")
	assert.Contains(t, out, "20.0 MiB")
	assert.Contains(t, out, "1 unexpected errors; server settled after 1.0 s")
	assert.Contains(t, out, "server CPU 5.5 s (50 % of one CPU), machine steal 0.3 s")
	assert.Contains(t, out, `bad "bare LF": 49 of 50 answered 400 exactly`)

	dir := t.TempDir()
	files, err := Write(dir, res)
	require.NoError(t, err)
	md, err := os.ReadFile(files.Markdown)
	require.NoError(t, err)
	assert.Contains(t, string(md), "| small | 4 | 4000 | 0 | 0 | 400.0 | 2.00 | 9.00 | 12.00 |")
	assert.Contains(t, string(md), "| goroutines | 26 | 30 | 26 |")
	assert.Contains(t, string(md), "| bare LF | 400 | 50 | 49 |")
	raw, err := os.ReadFile(files.JSON)
	require.NoError(t, err)
	var back Result
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, res.Kinds, back.Kinds)
	assert.Equal(t, res.Goroutines, back.Goroutines)

	f, err := os.Open(files.Chart)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.InDelta(t, 0.9, float64(img.Bounds().Dy())/float64(img.Bounds().Dx()), 0.01, "three panels of 10 by 3 inches, stacked")
}

func TestPlainTicks(t *testing.T) {
	var labels []string
	for _, tk := range (plainTicks{}).Ticks(0, 28.6) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	assert.Contains(t, labels, "25")
	assert.NotContains(t, labels, "25.00")
}

func TestDataRacesFindsTheDetectorsReports(t *testing.T) {
	report := func(what string) string {
		return "==================\nWARNING: DATA RACE\nWrite at 0x00c by goroutine 7:\n  " + what + "\n==================\n"
	}
	tests := []struct {
		name  string
		log   string
		n     int
		first string
	}{
		{"none", "time=... level=WARN msg=\"carhop: client pipelined too far ahead\"\n", 0, ""},
		{"one", "level=WARN a\n" + report("main.a()") + "level=WARN b\n", 1,
			"WARNING: DATA RACE\nWrite at 0x00c by goroutine 7:\n  main.a()\n==================\n"},
		{"two: the first whole", report("main.a()") + report("main.b()"), 2,
			"WARNING: DATA RACE\nWrite at 0x00c by goroutine 7:\n  main.a()\n==================\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, first := dataRaces(tt.log)
			assert.Equal(t, tt.n, n)
			assert.Equal(t, tt.first, first)
		})
	}
}
