// Command soak runs the soak scenario (bench/soak): carhop in a child
// process under mixed traffic (small, large, streaming, slow, pipelined,
// slow clients, malformed) for a while, its RSS and goroutines sampled
// throughout, and a check that it settles back once the load stops.
//
//	go run ./bench/cmd/soak                  # 3 minutes
//	go run ./bench/cmd/soak -duration 10m
//	go run ./bench/cmd/soak -quick           # 10 seconds, for CI
//	go run ./bench/cmd/soak -quick -restart  # a graceful restart under load before the drain
//
// On a machine with two CPUs and taskset, the server runs on CPU 0 and the
// clients on CPU 1, as in bench/cmd/bench. It prints the tables and writes
// soak.md, soak.json and soak.png into -out (bench/results/soak). It exits
// non-zero when any request failed unexpectedly or the server did not
// settle. Ctrl-C stops the load early; the server still settles and the
// report is written, marked interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/carhop/carhop/bench/runner"
	"github.com/carhop/carhop/bench/soak"
)

// pinnedEnv marks the re-executed, pinned client process.
const pinnedEnv = "CARHOP_SOAK_PINNED"

func main() {
	if soak.Child() {
		return
	}
	if code, ok := runner.RepinSelf(pinnedEnv); ok {
		os.Exit(code)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run() error {
	duration := flag.Duration("duration", 3*time.Minute, "how long the traffic runs")
	quick := flag.Bool("quick", false, "a 10-second smoke run (overrides -duration)")
	restart := flag.Bool("restart", false, "serve with graceful restart and replace the server (SIGHUP) under load before the drain")
	every := flag.Duration("sample", time.Second, "sampling period of RSS, goroutines and counters")
	out := flag.String("out", "bench/results/soak", "directory for soak.md, soak.json and soak.png")
	flag.Parse()
	if *quick {
		*duration = 10 * time.Second
	}
	cfg := soak.Config{Duration: *duration, SampleEvery: *every, Log: os.Stderr, Restart: *restart,
		Command: strings.TrimSpace("go run ./bench/cmd/soak " + strings.Join(os.Args[1:], " "))}
	if os.Getenv(pinnedEnv) != "" {
		cfg.Pinning, cfg.ServerCPU = "server on CPU 0, clients on CPU 1 (taskset)", 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var bar *progressbar.ProgressBar
	fi, _ := os.Stderr.Stat()
	terminal := fi != nil && fi.Mode()&os.ModeCharDevice != 0
	last := time.Duration(0)
	cfg.Progress = func(elapsed, total time.Duration) {
		if !terminal {
			if elapsed-last >= 10*time.Second || elapsed == total {
				fmt.Fprintf(os.Stderr, "soak: %v of %v\n", elapsed.Round(time.Second), total)
				last = elapsed
			}
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions(int(total.Seconds()), progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetWidth(30), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(),
				progressbar.OptionSetDescription("soak (seconds)"))
		}
		_ = bar.Set(int(elapsed.Seconds()))
	}
	res, err := soak.Run(ctx, cfg)
	if bar != nil {
		_ = bar.Finish()
	}
	if res == nil {
		return err
	}
	if terr := soak.Table(os.Stdout, res); terr != nil {
		return terr
	}
	files, werr := soak.Write(*out, res)
	if werr != nil {
		return werr
	}
	fmt.Printf("\nwrote %s, %s and %s\n", files.Markdown, files.JSON, files.Chart)
	switch {
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted: the report covers the load until then")
	case err != nil:
		return err
	case res.Errors() > 0:
		return fmt.Errorf("%d unexpected errors", res.Errors())
	case !res.Settled:
		return errors.New("the server did not settle back to its start")
	case res.Drain != nil && !res.Drain.OK():
		return errors.New("the drain under load was not complete: " + soak.DrainVerdict(res.Drain))
	case res.DataRaces > 0:
		return fmt.Errorf("the race detector reported %d data races in the server (server_log in soak.json)", res.DataRaces)
	}
	return nil
}
