package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/carhop/carhop/bench/report"
)

// Files are the report files of one run.
type Files struct {
	Markdown, JSON, Chart string
}

// Write writes soak.md, soak.json and soak.png into dir.
func Write(dir string, res *Result) (Files, error) {
	f := Files{Markdown: filepath.Join(dir, "soak.md"), JSON: filepath.Join(dir, "soak.json"), Chart: filepath.Join(dir, "soak.png")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	var md strings.Builder
	Markdown(&md, res)
	if err := os.WriteFile(f.Markdown, []byte(md.String()), 0o644); err != nil {
		return f, err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return f, err
	}
	if err := os.WriteFile(f.JSON, append(b, '\n'), 0o644); err != nil {
		return f, err
	}
	if err := Chart(f.Chart, res); err != nil {
		return f, fmt.Errorf("soak chart: %w", err)
	}
	return f, nil
}

// kindRows are the per-kind table's header and rows.
func kindRows(res *Result) [][]string {
	rows := [][]string{{"Kind", "Workers", "Served", "Refused as expected", "Errors", "req/s", "p50 ms", "p99 ms", "worst ms"}}
	for _, k := range res.Kinds {
		rows = append(rows, []string{string(k.Kind), strconv.Itoa(k.Workers), strconv.Itoa(k.Served),
			strconv.Itoa(k.Expected), errorCell(k), fmt.Sprintf("%.1f", k.RPS), ms(k.P50), ms(k.P99), ms(k.Worst)})
	}
	return rows
}

func errorCell(k KindResult) string { return countsCell(k.Errors) }

func countsCell(errs map[string]int) string {
	if len(errs) == 0 {
		return "0"
	}
	var parts []string
	for _, e := range sortedKeys(errs) {
		parts = append(parts, fmt.Sprintf("%d %s", errs[e], e))
	}
	return strings.Join(parts, ", ")
}

// drainRows are the drain's per-kind table, nil without a drain.
func drainRows(d *DrainResult) [][]string {
	if d == nil {
		return nil
	}
	rows := [][]string{{"Drain: kind", "Served", "Refused as expected", "Turned away", "Errors"}}
	if d.Restart {
		rows[0] = []string{"Restart and drain: kind", "Served", "Refused as expected", "Turned away in the restart", "Turned away in the drain", "Errors"}
	}
	for _, k := range d.Kinds {
		row := []string{string(k.Kind), strconv.Itoa(k.Served), strconv.Itoa(k.Expected)}
		if d.Restart {
			row = append(row, countsCell(k.InRestart))
		}
		rows = append(rows, append(row, countsCell(k.TurnedAway), countsCell(k.Errors)))
	}
	return rows
}

// DrainVerdict is one line on how the drain went.
func DrainVerdict(d *DrainResult) string {
	if d == nil {
		return "no drain"
	}
	exit := fmt.Sprintf("exited with status %d %.2f s after SIGTERM", d.ExitCode, d.DrainTime.Seconds())
	if !d.Exited {
		exit = fmt.Sprintf("did NOT exit within %v of SIGTERM (%s)", drainExitLimit, d.ExitErr)
	}
	turned := 0
	for _, k := range d.Kinds {
		turned += total(k.TurnedAway)
	}
	earliest := "none got nothing back"
	if d.EarliestClosed > -drainExitLimit {
		earliest = fmt.Sprintf("%d got nothing back though written before the signal, the earliest %.1f ms before it",
			d.ClosedEarly, float64(d.EarliestClosed)/float64(time.Millisecond))
	}
	restart := ""
	if d.Restart {
		inRestart := 0
		for _, k := range d.Kinds {
			inRestart += total(k.InRestart)
		}
		restart = fmt.Sprintf("graceful restart under load (SIGHUP after %v): the old process exited with status %d %.2f s after it, "+
			"%d exchanges turned away meanwhile; then ", d.Lead, d.OldExitCode, d.RestartTime.Seconds(), inRestart)
	}
	return fmt.Sprintf("%sdrain under load (SIGTERM after %v): %d unexpected errors; server %s; %d exchanges turned away (%s); temp files left %d",
		restart, d.Lead, d.Errors(), exit, turned, earliest, d.TempFilesLeft)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// serverRows are the start/peak/end figures of the child.
func serverRows(res *Result) [][]string {
	return [][]string{
		{"", "start", "peak", "end"},
		{"RSS", mib(res.RSS.Start), mib(res.RSS.Peak), mib(res.RSS.End)},
		{"heap in use", mib(res.HeapInuse.Start), mib(res.HeapInuse.Peak), mib(res.HeapInuse.End)},
		{"goroutines", strconv.FormatInt(res.Goroutines.Start, 10), strconv.FormatInt(res.Goroutines.Peak, 10), strconv.FormatInt(res.Goroutines.End, 10)},
	}
}

// verdict is one line on how the server came out of the run.
func verdict(res *Result) string {
	settled := fmt.Sprintf("settled after %.1f s", res.SettleTime.Seconds())
	if !res.Settled {
		settled = fmt.Sprintf("did NOT settle within %.1f s", res.SettleTime.Seconds())
	}
	st := res.ServerEnd.Server
	return fmt.Sprintf("%d unexpected errors; server %s; temp files left %d, spill files still open %d "+
		"(peak seen open %d; spilled bodies %d, outputs %d; files counted open %d of %d, denied %d); "+
		"buffered in memory %d B of %d, denied %d; carhop counted %d requests, refused %s, "+
		"%d connections answered past their input's end, %d cut off for pipelining too far ahead, "+
		"%d hijacked (%d still open); %d data races reported; server CPU %.1f s (%.0f %% of one CPU), machine steal %.1f s",
		res.Errors(), settled, res.TempFilesLeft, res.OpenSpillFiles, res.PeakOpenSpills,
		st.SpilledBodies, st.SpilledOutputs, st.OpenFiles, st.FileLimit, st.FilesDenied,
		st.BufferedBytes, st.BufferMemoryLimit, st.BufferMemoryDenied, st.Requests, refusedCell(st.Refused), st.InputEnded, st.CutOff,
		st.Hijacked, st.HijackedOpen, res.DataRaces, res.ServerCPU.Seconds(), percentOf(res.ServerCPU, res.Elapsed), res.Steal.Seconds())
}

func percentOf(part, whole time.Duration) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * part.Seconds() / whole.Seconds()
}

func refusedCell(m map[int]uint64) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", m[c], c))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// Table writes the terminal report.
func Table(w io.Writer, res *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "soak: %v of load (%v configured)%s\n\n", res.Elapsed.Round(time.Second), res.Duration, interrupted(res))
	for _, r := range kindRows(res) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	fmt.Fprintln(tw)
	for _, r := range serverRows(res) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if rows := drainRows(res.Drain); rows != nil {
		fmt.Fprintln(tw)
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n%s\n%s", verdict(res), DrainVerdict(res.Drain), examples(res))
	return err
}

func interrupted(res *Result) string {
	if res.Interrupted {
		return ", INTERRUPTED"
	}
	return ""
}

func examples(res *Result) string {
	var b strings.Builder
	for _, k := range res.Kinds {
		for _, e := range k.Examples {
			fmt.Fprintf(&b, "  %s: %s\n", k.Kind, e)
		}
	}
	if res.Drain != nil {
		for _, k := range res.Drain.Kinds {
			for _, e := range k.Examples {
				fmt.Fprintf(&b, "  drain, %s: %s\n", k.Kind, e)
			}
		}
	}
	for _, bc := range res.BadCases {
		if bc.Exact != bc.Sent {
			fmt.Fprintf(&b, "  bad %q: %d of %d answered %d exactly (others: %v)\n", bc.Name, bc.Exact, bc.Sent, bc.Want, bc.Got)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "errors, first few per kind:\n" + b.String()
}

// Markdown writes the report as a Markdown document.
func Markdown(w io.Writer, res *Result) {
	fmt.Fprintf(w, "# carhop soak\n\nRun %s with `%s`: %v of load (%v configured)%s, sampled every %v.\n\n",
		res.Started.Format("2006-01-02 15:04 MST"), res.Command, res.Elapsed.Round(time.Second), res.Duration,
		interrupted(res), sampleEvery(res))
	m := res.Machine
	fmt.Fprintf(w, "| machine | |\n|---|---|\n| CPU | %s (%d cores) |\n| kernel | %s |\n| Go | %s |\n| pinning | %s |\n\n",
		m.CPU, m.Cores, m.Kernel, m.Go, res.Pinning)
	s := res.Settings
	fmt.Fprintf(w, "Server: carhop, %d threads, inbuf_overflow %d KiB, outbuf_overflow %d KiB, outbuf_high_watermark %d KiB, "+
		"request timeout %v, channel timeout %v, max head %d KiB, max body %d MiB.\n\n", s.Threads, s.InbufOverflow>>10,
		s.OutbufOverflow>>10, s.OutbufHighWater>>10, s.RequestTimeout, s.ChannelTimeout, s.MaxHeaderBytes>>10, s.MaxBodyBytes>>20)
	writeMDTable(w, kindRows(res))
	fmt.Fprintln(w)
	writeMDTable(w, serverRows(res))
	fmt.Fprintf(w, "\n%s.\n\n", verdict(res))
	bad := [][]string{{"Bad request", "Want", "Sent", "Exact"}}
	for _, bc := range res.BadCases {
		bad = append(bad, []string{bc.Name, strconv.Itoa(bc.Want), strconv.Itoa(bc.Sent), strconv.Itoa(bc.Exact)})
	}
	writeMDTable(w, bad)
	if rows := drainRows(res.Drain); rows != nil {
		fmt.Fprintln(w)
		writeMDTable(w, rows)
	}
	fmt.Fprintf(w, "\n%s.\n", DrainVerdict(res.Drain))
	if e := examples(res); e != "" {
		fmt.Fprintf(w, "\n```\n%s```\n", e)
	}
	fmt.Fprintf(w, "\n![RSS and goroutines over time](soak.png)\n")
}

func sampleEvery(res *Result) time.Duration {
	for i := 2; i < len(res.Samples); i++ {
		if d := res.Samples[i].At - res.Samples[i-1].At; d > 0 {
			return d.Round(100 * time.Millisecond)
		}
	}
	return 0
}

func writeMDTable(w io.Writer, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(rows[0], " | "), strings.Repeat("---|", len(rows[0])))
	for _, r := range rows[1:] {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
}

// Chart writes the PNG: RSS (MiB), goroutines and the request rate over
// time, one panel each, with the end of the load marked.
func Chart(path string, res *Result) error {
	var rss, gor plotter.XYs
	for _, s := range res.Samples {
		if s.Error != "" {
			continue
		}
		x := s.At.Seconds()
		rss = append(rss, plotter.XY{X: x, Y: float64(s.RSS) / (1 << 20)})
		gor = append(gor, plotter.XY{X: x, Y: float64(s.Goroutines)})
	}
	var rate plotter.XYs
	for _, r := range res.Rates {
		rate = append(rate, plotter.XY{X: r.At.Seconds(), Y: r.RPS})
	}
	end := res.Elapsed.Seconds()
	right := end
	if n := len(res.Samples); n > 0 {
		right = max(right, res.Samples[n-1].At.Seconds())
	}
	var panels []*plot.Plot
	for _, p := range []struct {
		title, unit string
		xys         plotter.XYs
	}{
		{"server RSS", "MiB", rss},
		{"server goroutines", "goroutines", gor},
		{"requests completed per second (all kinds)", "req/s", rate},
	} {
		if len(p.xys) == 0 {
			continue
		}
		pl, err := linePanel(p.title, p.unit, p.xys, end, right)
		if err != nil {
			return err
		}
		panels = append(panels, pl)
	}
	return report.StackedPNG(path, 10*vg.Inch, 3*vg.Inch, panels...)
}

// linePanel plots xys from 0 to right seconds, so that every panel of
// a chart shares its time axis, with a dashed mark at loadEnd.
func linePanel(title, unit string, xys plotter.XYs, loadEnd, right float64) (*plot.Plot, error) {
	p := plot.New()
	p.X.Min, p.X.Max = 0, right
	p.Title.Text = title
	p.X.Label.Text = "seconds since the load started (dashed: load stopped)"
	p.Y.Label.Text = unit
	p.Y.Min = 0
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	top := 1.0
	for _, xy := range xys {
		top = max(top, xy.Y)
	}
	p.Y.Max = top * 1.1
	p.Y.Tick.Marker = plainTicks{}
	mark, err := plotter.NewLine(plotter.XYs{{X: loadEnd, Y: 0}, {X: loadEnd, Y: p.Y.Max}})
	if err != nil {
		return nil, err
	}
	mark.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(mark)
	return p, nil
}

// plainTicks are gonum's default ticks labelled as plain numbers: a count
// of goroutines reads "25", not "25.00".
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}
