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
			}},
			{Name: "idle", Description: "i", Results: []runner.Measurement{
				{Server: "carhop", Kind: "carhop", BytesPerIdleConn: 1272, IdleConns: 200},
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
	assert.Contains(t, out, "skipped waitress")
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
	require.Len(t, files.Charts, 1, "no chart for the idle scenario")
	f, err := os.Open(files.Charts[0])
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Greater(t, img.Bounds().Dx(), 100)
}
