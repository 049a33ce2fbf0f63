package report_test

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/carhop/carhop/bench/report"
)

// StackedPNG lays out panels the way the scenario charts are: one above
// the other, sharing the width.
func ExampleStackedPNG() {
	dir, err := os.MkdirTemp("", "stacked")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	var panels []*plot.Plot
	for _, title := range []string{"RSS", "goroutines"} {
		p := plot.New()
		p.Title.Text = title
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 1}, {X: 1, Y: 2}})
		if err != nil {
			panic(err)
		}
		p.Add(l)
		panels = append(panels, p)
	}
	path := filepath.Join(dir, "chart.png")
	if err := report.StackedPNG(path, 4*vg.Inch, 2*vg.Inch, panels...); err != nil {
		panic(err)
	}
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Width, "x", cfg.Height)
	// Output:
	// 384 x 384
}
