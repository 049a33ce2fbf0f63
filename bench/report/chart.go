package report

import (
	"fmt"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/carhop/carhop/bench/runner"
)

// Chart writes a PNG with two panels for a load scenario: requests per
// second and p99 latency, one bar per server that answered.
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
		return fmt.Errorf("report: no server answered %s", sc.Name)
	}
	top, err := bars(names, rps, sc.Name+": requests per second (median)", "req/s")
	if err != nil {
		return err
	}
	bottom, err := bars(names, p99, sc.Name+": p99 latency (median)", "ms")
	if err != nil {
		return err
	}
	const w, h = 10 * vg.Inch, 4 * vg.Inch
	img := vgimgCanvas(w, 2*h)
	top.Draw(subCanvas(img, 0, h, w, h))
	bottom.Draw(subCanvas(img, 0, 0, w, h))
	return savePNG(img, path)
}

func bars(names []string, v plotter.Values, title, unit string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	b, err := plotter.NewBarChart(v, vg.Points(18))
	if err != nil {
		return nil, err
	}
	b.LineStyle.Width = vg.Length(0)
	p.Add(b)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.6
	p.X.Tick.Label.XAlign = -0.9
	return p, nil
}
