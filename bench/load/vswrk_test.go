package load

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestVersusWrk checks that the generator is not the bottleneck: it runs
// nginx (one worker, pinned to CPU 0) and, round by round, wrk and this
// package's Run (each pinned to CPU 1, Run in a child process so that Go
// sizes GOMAXPROCS to that one CPU) against it with the same connection
// count and duration, and logs the median rates and their ratio. It is a
// measurement, not a CI check: it is skipped unless CARHOP_LOAD_VS_WRK=1
// and asserts nothing about speed.
//
//	CARHOP_LOAD_VS_WRK=1 go test -run TestVersusWrk -v -timeout 30m ./bench/load
//
// Knobs: CARHOP_LOAD_ROUNDS (default 10), CARHOP_LOAD_SECONDS (3),
// CARHOP_LOAD_CONNS (space-separated, default "50"), CARHOP_LOAD_CLOSE=1
// for a new connection per request (wrk -H "Connection: close", Run with
// KeepAlive false). Needs nginx, wrk,
// taskset and two CPUs; never touches the system nginx (its own config,
// pid file and temp paths live in a temp directory).
func TestVersusWrk(t *testing.T) {
	if os.Getenv("CARHOP_LOAD_VS_WRK") != "1" {
		t.Skip("a measurement: set CARHOP_LOAD_VS_WRK=1 to run it")
	}
	for _, tool := range []string{"nginx", "wrk", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install -y wrk nginx-light)", tool)
		}
	}
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs to pin server and load apart")
	}
	rounds := envInt(t, "CARHOP_LOAD_ROUNDS", 10)
	secs := envInt(t, "CARHOP_LOAD_SECONDS", 3)
	conns := strings.Fields(cmp.Or(os.Getenv("CARHOP_LOAD_CONNS"), "50"))
	closeMode := os.Getenv("CARHOP_LOAD_CLOSE") == "1"

	addr, worker := startNginx(t)
	results := map[string]map[string][]measurement{}
	for _, c := range conns {
		results[c] = map[string][]measurement{}
		wrk(t, addr, c, 1, worker, closeMode) // warm-up
	}
	for round := 1; round <= rounds; round++ {
		for _, c := range conns {
			order := []string{"wrk", "load"}
			if round%2 == 0 { // alternate the order so drift hits both alike
				slices.Reverse(order)
			}
			for _, tool := range order {
				var m measurement
				if tool == "wrk" {
					m = wrk(t, addr, c, secs, worker, closeMode)
				} else {
					m = loadChild(t, addr, c, secs, worker, closeMode)
				}
				t.Logf("round %2d conns=%s %-4s %s", round, c, tool, m)
				results[c][tool] = append(results[c][tool], m)
			}
		}
	}
	var report strings.Builder
	report.WriteString("\nmedians over the rounds (client CPU is user+sys of the client process per request; nginx is its worker's CPU share during the run)\n")
	report.WriteString("| conns | client | req/s | p50 | p99 | client CPU/req | client CPU | nginx CPU |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range conns {
		for _, tool := range []string{"wrk", "load"} {
			ms := results[c][tool]
			fmt.Fprintf(&report, "| %s | %s | %.0f | %.0fµs | %.0fµs | %.2fµs | %.0f%% | %.0f%% |\n", c, tool,
				median(ms, func(m measurement) float64 { return m.rps }),
				median(ms, func(m measurement) float64 { return m.p50 }),
				median(ms, func(m measurement) float64 { return m.p99 }),
				median(ms, func(m measurement) float64 { return m.cpuPerReq }),
				100*median(ms, func(m measurement) float64 { return m.clientUtil }),
				100*median(ms, func(m measurement) float64 { return m.nginxUtil }))
		}
		w, l := results[c]["wrk"], results[c]["load"]
		ratios := make([]float64, len(w))
		var rs []string
		for i := range w {
			ratios[i] = l[i].rps / w[i].rps
			rs = append(rs, fmt.Sprintf("%.2f", ratios[i]))
		}
		slices.Sort(ratios)
		fmt.Fprintf(&report, "conns=%s: load/wrk req/s: ratio of medians %.3f, median of per-round ratios %.3f (rounds: %s)\n", c,
			median(l, func(m measurement) float64 { return m.rps })/median(w, func(m measurement) float64 { return m.rps }),
			ratios[len(ratios)/2], strings.Join(rs, " "))
	}
	t.Log(report.String())
}

// measurement is one client run against nginx.
type measurement struct {
	rps, p50, p99 float64 // p50 and p99 in µs
	cpuPerReq     float64 // client user+sys µs per request
	clientUtil    float64 // client CPU seconds per second
	nginxUtil     float64 // nginx worker CPU seconds per second
}

func (m measurement) String() string {
	return fmt.Sprintf("%7.0f req/s  p50 %6.0fµs  p99 %6.0fµs  client %.2fµs/req (%3.0f%% CPU)  nginx %3.0f%% CPU",
		m.rps, m.p50, m.p99, m.cpuPerReq, 100*m.clientUtil, 100*m.nginxUtil)
}

func median(ms []measurement, f func(measurement) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

// TestVersusWrkChild is the generator side of TestVersusWrk, run in a
// child process pinned to one CPU: a 1s warm-up, then the measured run.
func TestVersusWrkChild(t *testing.T) {
	addr := os.Getenv("CARHOP_LOAD_CHILD_ADDR")
	if addr == "" {
		t.Skip("run by TestVersusWrk")
	}
	conns := envInt(t, "CARHOP_LOAD_CHILD_CONNS", 50)
	secs := envInt(t, "CARHOP_LOAD_CHILD_SECONDS", 5)
	keepAlive := os.Getenv("CARHOP_LOAD_CHILD_CLOSE") != "true"
	cfg := Config{Addr: addr, Concurrency: conns, KeepAlive: keepAlive, Duration: time.Second}
	_, err := Run(t.Context(), cfg)
	require.NoError(t, err)
	cfg.Duration = time.Duration(secs) * time.Second
	before := cpuTime(t)
	r, err := Run(t.Context(), cfg)
	require.NoError(t, err)
	cpu := cpuTime(t) - before
	fmt.Printf("RESULT gomaxprocs=%d rps=%.1f p50us=%.1f p99us=%.1f cpuus=%.0f elapsedus=%.0f requests=%d errors=%d non2xx=%d\n",
		runtime.GOMAXPROCS(0), r.Stats.RPS, us(r.Stats.P50), us(r.Stats.P99), us(cpu), us(r.Elapsed), r.Requests, r.Errors, r.Non2xx)
}

// cpuTime is this process's user+sys time so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	return n
}

// startNginx runs nginx with one worker pinned to CPU 0 from a config in a
// temp directory and returns its address and the worker's pid; cleanup
// stops it.
func startNginx(t *testing.T) (addr string, worker int) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr = ln.Addr().String()
	require.NoError(t, ln.Close())
	conf := fmt.Sprintf(`worker_processes 1; daemon off; error_log stderr; pid %[1]s/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  server { listen %[2]s; location / { return 200 "Hello, World!"; } }
}
`, dir, addr)
	path := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	cmd := exec.Command("taskset", "-c", "0", "nginx", "-p", dir, "-c", path, "-e", "stderr")
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // nginx: SIGINT is a fast shutdown
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, waitTimeout, 50*time.Millisecond, "nginx listening")
	// taskset execs nginx, so the master is cmd's process; its one child
	// is the worker.
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	require.NoError(t, err)
	f := strings.Fields(string(children))
	require.Len(t, f, 1, "nginx workers")
	worker, err = strconv.Atoi(f[0])
	require.NoError(t, err)
	return addr, worker
}

// procCPU is the user+sys time of process pid, from /proc/pid/stat.
func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 on
	ut, err := strconv.ParseInt(f[11], 10, 64)
	require.NoError(t, err)
	st, err := strconv.ParseInt(f[12], 10, 64)
	require.NoError(t, err)
	const clockTick = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clockTick
}

var (
	wrkRate    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// wrk runs wrk on CPU 1.
func wrk(t *testing.T, addr, conns string, secs, nginx int, closeMode bool) measurement {
	var m measurement
	n0, start := procCPU(t, nginx), time.Now()
	args := []string{"-c", "1", "wrk", "-t1", "-c" + conns, "-d" + strconv.Itoa(secs) + "s", "--latency"}
	if closeMode {
		args = append(args, "-H", "Connection: close")
	}
	cmd := exec.Command("taskset", append(args, "http://"+addr+"/")...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	wall := time.Since(start)
	m.nginxUtil = float64(procCPU(t, nginx)-n0) / float64(wall)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime() // taskset execs wrk
	m.clientUtil = float64(cpu) / float64(wall)
	r := wrkRate.FindSubmatch(out)
	require.NotNil(t, r, string(out))
	m.rps, err = strconv.ParseFloat(string(r[1]), 64)
	require.NoError(t, err)
	m.cpuPerReq = us(cpu) / (m.rps * float64(secs))
	for _, l := range wrkLatency.FindAllSubmatch(out, -1) {
		v, err := strconv.ParseFloat(string(l[2]), 64)
		require.NoError(t, err)
		v *= map[string]float64{"us": 1, "ms": 1e3, "s": 1e6}[string(l[3])]
		if string(l[1]) == "50" {
			m.p50 = v
		} else {
			m.p99 = v
		}
	}
	if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		t.Logf("wrk reported errors:\n%s", out)
	}
	return m
}

var childResult = regexp.MustCompile(`RESULT gomaxprocs=(\d+) rps=([0-9.]+) p50us=([0-9.]+) p99us=([0-9.]+) cpuus=([0-9.]+) elapsedus=([0-9.]+) requests=(\d+) errors=(\d+) non2xx=(\d+)`)

// loadChild runs TestVersusWrkChild in this test binary on CPU 1. The
// nginx share is measured over the child's whole life, warm-up included.
func loadChild(t *testing.T, addr, conns string, secs, nginx int, closeMode bool) measurement {
	var m measurement
	n0, start := procCPU(t, nginx), time.Now()
	cmd := exec.Command("taskset", "-c", "1", os.Args[0], "-test.run=^TestVersusWrkChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CARHOP_LOAD_CHILD_ADDR="+addr, "CARHOP_LOAD_CHILD_CONNS="+conns,
		"CARHOP_LOAD_CHILD_SECONDS="+strconv.Itoa(secs), "CARHOP_LOAD_CHILD_CLOSE="+strconv.FormatBool(closeMode), "GOMAXPROCS=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	m.nginxUtil = float64(procCPU(t, nginx)-n0) / float64(time.Since(start))
	r := childResult.FindSubmatch(out)
	require.NotNil(t, r, string(out))
	require.Equal(t, "1", string(r[1]), "GOMAXPROCS of the pinned child")
	if string(r[8]) != "0" || string(r[9]) != "0" {
		t.Logf("load reported errors=%s non2xx=%s", r[8], r[9])
	}
	f := func(b []byte) float64 {
		v, err := strconv.ParseFloat(string(b), 64)
		require.NoError(t, err)
		return v
	}
	m.rps, m.p50, m.p99 = f(r[2]), f(r[3]), f(r[4])
	cpu, elapsed, requests := f(r[5]), f(r[6]), f(r[7])
	m.cpuPerReq = cpu / requests
	m.clientUtil = cpu / elapsed
	return m
}
