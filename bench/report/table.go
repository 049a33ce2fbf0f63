package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carhop/carhop/bench/runner"
)

// reference picks the server the "%" column is relative to: NGINX when it
// ran, net/http otherwise (and the header says which).
func reference(sc runner.ScenarioResult) (name string, rps float64) {
	for _, want := range []string{"nginx", "net-http"} {
		for _, m := range sc.Results {
			if m.Server == want && m.Answered() && m.RPS > 0 {
				return want, m.RPS
			}
		}
	}
	return "", 0
}

// row is one line of a load table, formatted.
func row(m runner.Measurement, refRPS float64) []string {
	if !m.Answered() {
		// The reason goes in the last column, Errors.
		return []string{m.Server, "failed", "", "", "", "", "", "", "", firstLine(m.Error)}
	}
	pct := ""
	if refRPS > 0 {
		pct = fmt.Sprintf("%.0f %%", 100*m.RPS/refRPS)
	}
	errs := ""
	if m.Errors > 0 || m.Non2xx > 0 {
		errs = fmt.Sprintf("%d errors, %d non-2xx", m.Errors, m.Non2xx)
	}
	return []string{m.Server, fmt.Sprintf("%.0f", m.RPS), fmt.Sprintf("%.0f–%.0f", m.RPSMin, m.RPSMax),
		ms(m.Mean), fmt.Sprintf("%s ±%s", ms(m.Mode), ms(m.ModeBucket/2)), ms(m.Worst), ms(m.P99), unanswered(m), pct, errs}
}

// unanswered is the Unanswered cell: how many clients were still waiting
// at the end of a timed run, longer than any answered request took, and
// the longest wait; empty when none were.
func unanswered(m runner.Measurement) string {
	if m.Unanswered == 0 {
		return ""
	}
	return fmt.Sprintf("%d (waited up to %s)", m.Unanswered, ms(m.UnansweredWait))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// header returns the column names of a scenario's table.
func header(sc runner.ScenarioResult) []string {
	switch kind(sc) {
	case "idle":
		return []string{"Server", "Bytes per idle connection", "Connections", "CPU while idle (% of a CPU)"}
	case "slow":
		return []string{"Server", "RPS alone", "RPS under attack", "p99 alone", "p99 under attack", "Unanswered under attack", "Slow clients cut off", "Still open"}
	case "slowread":
		return []string{"Server", "RPS alone", "RPS with slow readers", "p99 alone", "p99 with slow readers", "Unanswered", "Slow readers answered", "Cut off", "KiB read per reader", "Server RSS"}
	}
	var pct string
	switch ref, _ := reference(sc); ref {
	case "net-http":
		pct = "% net/http (RPS, NGINX absent)"
	case "":
		pct = "% (neither NGINX nor net/http ran)"
	default:
		pct = "% " + strings.ToUpper(ref) + " (RPS)"
	}
	return []string{"Server", "RPS", "RPS range", "Mean", "Mode", "Worst", "p99", "Unanswered", pct, "Errors"}
}

func kind(sc runner.ScenarioResult) string {
	for _, m := range sc.Results {
		switch {
		case m.IdleConns > 0:
			return "idle"
		case m.SlowConnsTried > 0:
			return "slow"
		case m.Readers > 0:
			return "slowread"
		}
	}
	return "load"
}

func rows(sc runner.ScenarioResult) [][]string {
	_, refRPS := reference(sc)
	var out [][]string
	for _, m := range sc.Results {
		switch kind(sc) {
		case "idle":
			if m.Error != "" {
				out = append(out, []string{m.Server, "failed: " + firstLine(m.Error), "", ""})
				continue
			}
			out = append(out, []string{m.Server, fmt.Sprintf("%d", m.BytesPerIdleConn), fmt.Sprintf("%d", m.IdleConns), fmt.Sprintf("%.2f", m.IdleCPU)})
		case "slow":
			if !m.Answered() {
				out = append(out, []string{m.Server, "failed: " + firstLine(m.Error), "", "", "", "", "", ""})
				continue
			}
			out = append(out, []string{m.Server, fmt.Sprintf("%.0f", m.RPSAlone), fmt.Sprintf("%.0f", m.RPS), ms(m.P99Alone), ms(m.P99), unanswered(m),
				fmt.Sprintf("%d of %d", m.SlowClosed, m.SlowConnsTried), fmt.Sprintf("%d", m.SlowStillOpen)})
		case "slowread":
			if !m.Answered() {
				out = append(out, []string{m.Server, "failed: " + firstLine(m.Error), "", "", "", "", "", "", "", ""})
				continue
			}
			out = append(out, []string{m.Server, fmt.Sprintf("%.0f", m.RPSAlone), fmt.Sprintf("%.0f", m.RPS), ms(m.P99Alone), ms(m.P99), unanswered(m),
				fmt.Sprintf("%d of %d", m.ReadersAnswered, m.Readers), fmt.Sprintf("%d", m.ReadersCutOff),
				fmt.Sprintf("%.0f", float64(m.ReaderBytes)/float64(m.Readers)/1024), fmt.Sprintf("%.0f MiB", float64(m.ServerRSS)/(1<<20))})
		default:
			out = append(out, row(m, refRPS))
		}
	}
	return out
}

// Table writes every scenario as an aligned text table.
func Table(w io.Writer, res *runner.Results) error {
	for _, sc := range res.Scenarios {
		fmt.Fprintf(w, "\n%s: %s\n\n", sc.Name, sc.Description)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header(sc), "\t"))
		for _, r := range rows(sc) {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(w, "\nskipped %s: %s", s.Server, s.Reason)
	}
	fmt.Fprintln(w)
	return nil
}
