// Command bench is carhop's benchmark suite: the naive server designs
// (sequential, process per connection, process pool, goroutine per
// connection, goroutine pool, raw epoll, epoll with workers), carhop and
// its Go peers, and NGINX, Waitress and Gunicorn when installed, each run
// as its own process pinned to one CPU while the built-in load generator
// runs on another.
//
//	go run ./bench/cmd/bench                      # everything, 3 rounds (about 15 minutes)
//	go run ./bench/cmd/bench -quick               # a seconds-long smoke run
//	go run ./bench/cmd/bench -servers carhop,net-http,nginx -scenarios classic,c1000
//
// It prints the tables and writes results.md, results.json and a chart per
// scenario into -out (bench/results). It exits non-zero when a built-in
// server failed to answer.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/schollz/progressbar/v3"

	"github.com/carhop/carhop/bench/baselines"
	"github.com/carhop/carhop/bench/report"
	"github.com/carhop/carhop/bench/runner"
)

// pinnedEnv marks the re-executed, pinned load-generator process.
const pinnedEnv = "CARHOP_BENCH_PINNED"

func main() {
	if baselines.Child() {
		return
	}
	if len(os.Args) > 1 && os.Args[1] == runner.ServeFlag {
		if err := serve(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if code, ok := runner.RepinSelf(pinnedEnv); ok {
		os.Exit(code)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serve is server mode: bench -serve NAME -addr ADDR.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	name := fs.String("serve", "", "server to run")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runner.Serve(ctx, *name, *addr)
}

func run() error {
	servers := flag.String("servers", "", "comma-separated servers (default: all); known: "+strings.Join(names(), ","))
	scenarios := flag.String("scenarios", "", "comma-separated scenarios (default: all): "+strings.Join(scenarioNames(), ","))
	rounds := flag.Int("rounds", 3, "repetitions of each measurement (medians are reported)")
	quick := flag.Bool("quick", false, "seconds-long smoke run: tiny scenarios, one round")
	out := flag.String("out", "bench/results", "directory for results.md, results.json and charts")
	behind := flag.String("behind-nginx", "", "run every server behind an NGINX reverse proxy: buffered or unbuffered")
	flag.Parse()
	if *quick && !flagSet("rounds") {
		*rounds = 1
	}

	pinning, cpu := "none (fewer than 2 CPUs or no taskset)", -1
	if os.Getenv(pinnedEnv) != "" {
		pinning, cpu = "servers on CPU 0, load generator on CPU 1 (taskset)", 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	baselineBin := baselineBinary(ctx)
	if baselineBin != "" {
		defer func() { _ = os.RemoveAll(filepath.Dir(baselineBin)) }()
	}

	var bar *progressbar.ProgressBar
	fi, _ := os.Stderr.Stat()
	terminal := fi != nil && fi.Mode()&os.ModeCharDevice != 0
	opt := runner.Options{
		Servers: split(*servers), Scenarios: split(*scenarios), Rounds: *rounds, Quick: *quick,
		ServerCPU: cpu, Pinning: pinning, Command: "go run ./bench/cmd/bench " + strings.Join(os.Args[1:], " "),
		Log: os.Stderr, BehindNginx: *behind, BaselineBinary: baselineBin,
		Progress: func(step, steps int, what string) {
			if !terminal {
				fmt.Fprintf(os.Stderr, "[%d/%d] %s\n", step, steps, what)
				return
			}
			if bar == nil {
				bar = progressbar.NewOptions(steps, progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetWidth(30), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			bar.Describe(fmt.Sprintf("%-40s", what))
			_ = bar.Set(step - 1)
		},
	}
	res, err := runner.Run(ctx, opt)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	if err := report.Table(os.Stdout, res); err != nil {
		return err
	}
	files, err := report.Write(*out, res)
	if err != nil {
		return err
	}
	fmt.Printf("\nwrote %s, %s and %d charts in %s\n", files.Markdown, files.JSON, len(files.Charts), *out)
	return silent(res)
}

// baselineBinary builds bench/cmd/baseline into a temporary directory for
// the naive designs to run from, so that a process design's children do
// not each initialise this binary's report generator; where it cannot be
// built (no go command, not in the module) they run from this binary, and
// the report says so.
func baselineBinary(ctx context.Context) string {
	dir, err := os.MkdirTemp("", "carhop-bench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return ""
	}
	bin, err := runner.BuildBaselineBinary(ctx, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "bench: the naive designs run from the bench binary itself (slower process starts):", err)
		return ""
	}
	return bin
}

// silent fails the run when a built-in server did not answer the classic
// scenario: the smoke test's assertion. Failing the harder scenarios is
// what some naive designs do, and is their result, not the suite's fault.
func silent(res *runner.Results) error {
	var failed []string
	for _, sc := range res.Scenarios {
		if sc.Name != "classic" {
			continue
		}
		for _, m := range sc.Results {
			if m.Kind != "external" && !m.Answered() {
				failed = append(failed, m.Server)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("built-in servers did not answer: %s", strings.Join(failed, ", "))
	}
	return nil
}

func names() []string {
	var n []string
	for _, s := range runner.AllServers() {
		n = append(n, s.Name)
	}
	return n
}

func scenarioNames() []string {
	var n []string
	for _, s := range runner.Scenarios {
		n = append(n, s.Name)
	}
	return n
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
