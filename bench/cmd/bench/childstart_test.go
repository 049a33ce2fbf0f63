package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestChildStartUp measures what a process design pays per child: the
// time to start a binary as a baseline child that exits at once (the
// probe mode, which goes through the runtime and package initialisation
// and no further), for the bench binary and for bench/cmd/baseline, with
// an empty Go program as the floor (it exits 0 where the others exit 79),
// interleaved so that load on the shared machine hits both alike. It only
// reports, never asserts a speed; run it with
//
//	CARHOP_CHILD_START=1 go test -run TestChildStartUp -v ./bench/cmd/bench
func TestChildStartUp(t *testing.T) {
	if os.Getenv("CARHOP_CHILD_START") == "" {
		t.Skip("set CARHOP_CHILD_START=1 to measure child start-up")
	}
	dir := t.TempDir()
	bins := map[string]string{"bench": filepath.Join(dir, "bench"), "baseline": filepath.Join(dir, "baseline")}
	for pkg, bin := range map[string]string{".": bins["bench"], "../baseline": bins["baseline"]} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	// The floor: a Go program that does nothing, built outside the module.
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.MkdirAll(empty, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(empty, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600))
	build := exec.Command("go", "build", "-o", "empty", "main.go")
	build.Dir = empty
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	bins["empty Go"] = filepath.Join(empty, "empty")
	const n = 200
	times := map[string][]time.Duration{}
	for range n {
		for name, bin := range bins {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "CARHOP_BASELINE_CHILD=probe")
			start := time.Now()
			err := cmd.Run()
			times[name] = append(times[name], time.Since(start))
			want := 79
			if name == "empty Go" {
				want = 0
			}
			require.Equal(t, want, cmd.ProcessState.ExitCode(), "%s did not exit as a probe child: %v", name, err)
		}
	}
	med := map[string]time.Duration{}
	for name, d := range times {
		slices.Sort(d)
		med[name] = d[len(d)/2]
		st, err := os.Stat(bins[name])
		require.NoError(t, err)
		t.Logf("%-8s %5.1f MB  median %v  p10 %v  p90 %v", name, float64(st.Size())/1e6,
			med[name].Round(10*time.Microsecond), d[len(d)/10].Round(10*time.Microsecond), d[len(d)*9/10].Round(10*time.Microsecond))
	}
	t.Logf("bench binary / baseline binary: %.2f", float64(med["bench"])/float64(med["baseline"]))
}
