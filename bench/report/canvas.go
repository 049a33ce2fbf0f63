package report

import (
	"errors"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func vgimgCanvas(w, h vg.Length) *vgimg.Canvas { return vgimg.New(w, h) }

func subCanvas(c *vgimg.Canvas, x, y, w, h vg.Length) draw.Canvas {
	return draw.Canvas{Canvas: c, Rectangle: vg.Rectangle{Min: vg.Point{X: x, Y: y}, Max: vg.Point{X: x + w, Y: y + h}}}
}

func savePNG(c *vgimg.Canvas, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// StackedPNG draws panels one above the other, each w wide and h high,
// the first on top, and writes them to path as a PNG. It is the layout of
// the scenario charts, for other reports (bench/soak) to share.
func StackedPNG(path string, w, h vg.Length, panels ...*plot.Plot) error {
	if len(panels) == 0 {
		return errors.New("report: StackedPNG: no panel")
	}
	n := vg.Length(len(panels))
	img := vgimgCanvas(w, n*h)
	for i, p := range panels {
		p.Draw(subCanvas(img, 0, (n-1-vg.Length(i))*h, w, h))
	}
	return savePNG(img, path)
}
