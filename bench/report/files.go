package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/carhop/carhop/bench/runner"
)

// Files are the report files written for one run.
type Files struct {
	Markdown, JSON string
	Charts         []string
}

// Write writes results.md, results.json and one <scenario>.png per load
// scenario into dir. A scenario no server answered (a quick run of only
// the designs slowloris stops) gets no chart; the tables say why.
func Write(dir string, res *runner.Results) (Files, error) {
	var f Files
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	f.Markdown = filepath.Join(dir, "results.md")
	md, err := os.Create(f.Markdown)
	if err != nil {
		return f, err
	}
	if err := Markdown(md, res); err != nil {
		_ = md.Close()
		return f, err
	}
	if err := md.Close(); err != nil {
		return f, err
	}
	f.JSON = filepath.Join(dir, "results.json")
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return f, err
	}
	if err := os.WriteFile(f.JSON, append(b, '\n'), 0o644); err != nil {
		return f, err
	}
	for _, sc := range res.Scenarios {
		if kind(sc) == "idle" {
			continue
		}
		path := filepath.Join(dir, sc.Name+".png")
		err := Chart(path, sc)
		if errors.Is(err, ErrNothingToChart) {
			continue
		}
		if err != nil {
			return f, fmt.Errorf("chart %s: %w", sc.Name, err)
		}
		f.Charts = append(f.Charts, path)
	}
	return f, nil
}
