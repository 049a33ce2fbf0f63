package report

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/carhop/carhop/bench/runner"
)

// ErrNothingToChart is Chart's error when no server has a rate to draw.
var ErrNothingToChart = errors.New("no server answered")

// Chart writes a PNG with two panels for a load scenario: requests per
// second (linear) and p99 latency (log scale: between designs it spans
// from a tenth of a millisecond to seconds), one bar per server that
// answered, each p99 bar labelled with its value.
func Chart(path string, sc runner.ScenarioResult) error {
	var names []string
	var rps, p99 plotter.Values
	for _, m := range sc.Results {
		if !m.Answered() || m.RPS == 0 {
			continue
		}
		names = append(names, m.Server)
		rps = append(rps, m.RPS)
		p99 = append(p99, float64(m.P99)/float64(time.Millisecond))
	}
	if len(names) == 0 {
		return fmt.Errorf("report: %s: %w", sc.Name, ErrNothingToChart)
	}
	top, err := bars(names, rps, sc.Name+": requests per second (median)", "req/s")
	if err != nil {
		return err
	}
	bottom, err := logBars(names, p99, sc.Name+": p99 latency (median, log scale)", "ms")
	if err != nil {
		return err
	}
	return StackedPNG(path, 10*vg.Inch, 4*vg.Inch, top, bottom)
}

func newBarPlot(names []string, title, unit string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.6
	p.X.Tick.Label.XAlign = -0.9
	return p
}

func bars(names []string, v plotter.Values, title, unit string) (*plot.Plot, error) {
	p := newBarPlot(names, title, unit)
	b, err := plotter.NewBarChart(v, vg.Points(18))
	if err != nil {
		return nil, err
	}
	b.LineStyle.Width = vg.Length(0)
	p.Add(b)
	return p, nil
}

// logBars draws positive values as bars on a log-scaled Y axis. A log
// scale has no zero, so the bars stand on a floor: the power of ten at or
// below the smallest value. gonum's bars start at 0, so each bar is
// stacked on an undrawn bar of the floor's height.
func logBars(names []string, v plotter.Values, title, unit string) (*plot.Plot, error) {
	lo, hi := math.Inf(1), 0.0
	for _, x := range v {
		if x > 0 {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	if hi == 0 {
		return nil, errors.New("report: no positive value for a log scale")
	}
	floor, ceil := logFloor(lo), logCeil(hi)
	base := make(plotter.Values, len(v))
	above := make(plotter.Values, len(v))
	for i, x := range v {
		base[i] = floor
		above[i] = math.Max(x, floor) - floor
	}
	under, err := plotter.NewBarChart(base, vg.Points(18))
	if err != nil {
		return nil, err
	}
	b, err := plotter.NewBarChart(above, vg.Points(18))
	if err != nil {
		return nil, err
	}
	b.StackOn(under)
	b.LineStyle.Width = vg.Length(0)

	p := newBarPlot(names, title, unit)
	p.Add(b)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
	// Room above the tallest bar for its label.
	p.Y.Min, p.Y.Max = floor, math.Max(ceil, hi*3)
	labels, err := barLabels(v)
	if err != nil {
		return nil, err
	}
	p.Add(labels)
	return p, nil
}

// barLabels writes each value just above its bar.
func barLabels(v plotter.Values) (*plotter.Labels, error) {
	xys := make(plotter.XYs, len(v))
	text := make([]string, len(v))
	for i, x := range v {
		xys[i] = plotter.XY{X: float64(i), Y: x * 1.15}
		text[i] = msLabel(x)
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: text})
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = -0.5 // centred on the bar
		l.TextStyle[i].Font.Size = vg.Points(7)
	}
	return l, nil
}

// msLabel prints milliseconds with about three significant digits.
func msLabel(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	default:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
}

// logFloor is the largest power of ten at or below x > 0.
func logFloor(x float64) float64 { return math.Pow(10, math.Floor(math.Log10(x))) }

// logCeil is the smallest power of ten at or above x > 0.
func logCeil(x float64) float64 { return math.Pow(10, math.Ceil(math.Log10(x))) }

// decadeTicks marks a log axis: a labelled major tick at every power of
// ten, unlabelled minor ticks at 2..9 times it, and labels at 2 and 5
// times it too when the axis spans at most two decades, so that a short
// axis still has a few numbers. Labels are plain decimals ("0.1", "1",
// "1000"), not exponents.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	few := math.Log10(hi/lo) <= 2
	var ticks []plot.Tick
	for d := logFloor(lo); d <= hi; d *= 10 {
		for m := 1; m < 10; m++ {
			v := d * float64(m)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (few && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
