package runner

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/bench/peers"
)

func TestMedianOfRounds(t *testing.T) {
	rounds := []Measurement{
		{Server: "s", RPS: 100, P99: 3 * time.Millisecond, Mean: time.Millisecond, Requests: 10},
		{Server: "s", Error: "boom"},
		{Server: "s", RPS: 300, P99: 1 * time.Millisecond, Mean: 3 * time.Millisecond, Requests: 10},
		{Server: "s", RPS: 200, P99: 2 * time.Millisecond, Mean: 2 * time.Millisecond, Requests: 10},
	}
	m := median(rounds)
	assert.InDelta(t, 200, m.RPS, 0)
	assert.InDelta(t, 100, m.RPSMin, 0)
	assert.InDelta(t, 300, m.RPSMax, 0)
	assert.Equal(t, 2*time.Millisecond, m.P99)
	assert.Equal(t, 2*time.Millisecond, m.Mean)
	assert.True(t, m.Answered(), "failed rounds do not hide the successful ones")

	failed := median([]Measurement{{Server: "s", Error: "first"}, {Server: "s", Error: "second"}})
	assert.False(t, failed.Answered())
	assert.Equal(t, "first", failed.Error)
}

func TestPickServersAndScenarios(t *testing.T) {
	_, _, err := pickServers([]string{"no-such-server"})
	require.Error(t, err)
	servers, _, err := pickServers([]string{"carhop", "sequential"})
	require.NoError(t, err)
	require.Len(t, servers, 2)
	assert.Equal(t, "carhop", servers[0].Kind)
	assert.Equal(t, "baseline", servers[1].Kind)

	_, err = pickScenarios([]string{"nope"}, false)
	require.Error(t, err)
	quick, err := pickScenarios(nil, true)
	require.NoError(t, err)
	require.Len(t, quick, len(Scenarios))
	for i, sc := range quick {
		full := Scenarios[i]
		assert.LessOrEqual(t, sc.Idle, full.Idle, sc.Name)
		assert.LessOrEqual(t, sc.Slow, full.Slow, sc.Name)
		assert.LessOrEqual(t, sc.Readers, full.Readers, sc.Name)
		assert.LessOrEqual(t, sc.Duration, full.Duration, sc.Name)
		assert.LessOrEqual(t, sc.Requests, full.Requests, sc.Name)
	}
}

func TestEveryBuiltInServerHasAKind(t *testing.T) {
	kinds := map[string]int{}
	for _, s := range AllServers() {
		kinds[s.Kind]++
		require.NotNil(t, s.Command, s.Name)
	}
	assert.Equal(t, 1, kinds["carhop"])
	assert.Equal(t, 7, kinds["baseline"])
	assert.Equal(t, 4, kinds["peer"])
	assert.Equal(t, 4, kinds["external"])
}

func TestRSSCountsChildren(t *testing.T) {
	self, err := rssOf(os.Getpid())
	require.NoError(t, err)
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	assert.Contains(t, descendants(os.Getpid()), cmd.Process.Pid)
	total, err := RSS(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, total, self, "the child's resident set is included")
}

// TestNginxConfigurationsAreValid renders both NGINX roles and has nginx
// check them, when nginx is installed.
func TestNginxConfigurationsAreValid(t *testing.T) {
	if missingBinary("nginx", "") != "" {
		t.Skip("nginx not installed (apt-get install -y nginx-light)")
	}
	for _, s := range []Server{externalServers()[0], nginxProxy("127.0.0.1:1", false)} {
		dir := t.TempDir()
		cmd, err := s.Command("127.0.0.1:18999", dir) // nginx -t does not bind
		require.NoError(t, err)
		conf := cmd.Args[2]
		text, err := os.ReadFile(conf)
		require.NoError(t, err)
		assert.Contains(t, string(text), "backlog=4096", "%s: NGINX's default backlog of 511 overflows at 1,000 clients", s.Name)
		out, err := exec.Command(nginxPath(), "-t", "-c", conf, "-p", dir, "-e", "stderr").CombinedOutput()
		require.NoError(t, err, "%s: %s", s.Name, out)
	}
}

func TestBaselineBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bench/cmd/baseline")
	}
	bin, err := BuildBaselineBinary(t.Context(), t.TempDir())
	require.NoError(t, err)
	probe := exec.Command(bin)
	probe.Env = append(os.Environ(), "CARHOP_BASELINE_CHILD=probe")
	_ = probe.Run()
	require.NotNil(t, probe.ProcessState)
	assert.Equal(t, 79, probe.ProcessState.ExitCode(), "the binary serves as a baseline child")

	servers, _, err := pickServers([]string{"carhop", "process-per-conn"})
	require.NoError(t, err)
	useBaselineBinary(servers, bin)
	peer, err := servers[0].Command("127.0.0.1:1", "")
	require.NoError(t, err)
	assert.NotEqual(t, bin, peer.Path, "peers stay in the bench binary")
	design, err := servers[1].Command("127.0.0.1:1", "")
	require.NoError(t, err)
	assert.Equal(t, []string{bin, ServeFlag, "process-per-conn", "-addr", "127.0.0.1:1"}, design.Args)
	assert.Equal(t, 200, servers[1].MaxConns, "the design's limit is kept")
}

func TestProcessCPU(t *testing.T) {
	cpu, err := ProcessCPU(os.Getpid())
	require.NoError(t, err)
	// Spin until the tick-granular counter moves: it must only go up.
	deadline := time.Now().Add(5 * time.Second)
	later := cpu
	for later == cpu && time.Now().Before(deadline) {
		later, err = ProcessCPU(os.Getpid())
		require.NoError(t, err)
	}
	assert.Greater(t, later, cpu, "this process's CPU time grows as it spins")
	_, err = ProcessCPU(-1)
	require.Error(t, err)
}

// The external servers answer like bench/peers.Hello: Body, and Big at
// BigPath, on one keep-alive connection.
func TestExternalServersAnswerBodyAndBig(t *testing.T) {
	for _, s := range externalServers() {
		t.Run(s.Name, func(t *testing.T) {
			if s.Missing != "" {
				t.Skip(s.Missing)
			}
			p, err := start(t.Context(), s, -1)
			require.NoError(t, err)
			t.Cleanup(p.stop)
			tr := &http.Transport{MaxConnsPerHost: 1}
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for _, tt := range []struct{ path, want string }{
				{"/", peers.Body}, {peers.BigPath, string(peers.Big)}, {"/", peers.Body},
			} {
				resp, err := client.Get("http://" + p.addr + tt.path)
				require.NoError(t, err, tt.path)
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, resp.Body.Close())
				require.NoError(t, err, tt.path)
				assert.Equal(t, http.StatusOK, resp.StatusCode, tt.path)
				assert.Equal(t, int64(len(tt.want)), resp.ContentLength, "%s declares its length", tt.path)
				assert.True(t, string(body) == tt.want, "%s: %d bytes, want %d", tt.path, len(body), len(tt.want))
			}
		})
	}
}
