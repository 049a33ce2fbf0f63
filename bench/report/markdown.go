package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/carhop/carhop/bench/runner"
)

// Markdown writes the results as a Markdown document: the machine, the
// command, and one table per scenario.
func Markdown(w io.Writer, res *runner.Results) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# carhop benchmark results\n\n")
	fmt.Fprintf(&b, "Run %s with `%s`.\n\n", res.Started.Format("2006-01-02 15:04 MST"), res.Command)
	fmt.Fprintf(&b, "| machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU | %s (%d cores) |\n| kernel | %s |\n| Go | %s |\n", res.Machine.CPU, res.Machine.Cores, res.Machine.Kernel, res.Machine.Go)
	keys := make([]string, 0, len(res.Machine.Versions))
	for k := range res.Machine.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %s |\n", k, res.Machine.Versions[k])
	}
	if res.BehindNginx != "" {
		fmt.Fprintf(&b, "| behind NGINX | every server behind an NGINX reverse proxy, proxy_buffering %s |\n", map[string]string{"buffered": "on", "unbuffered": "off"}[res.BehindNginx])
	}
	if res.Baselines != "" {
		fmt.Fprintf(&b, "| naive designs run from | %s |\n", res.Baselines)
	}
	fmt.Fprintf(&b, "| pinning | %s |\n| rounds | %d (medians; RPS range is min–max)%s |\n\n", res.Pinning, res.Rounds, quickNote(res))
	for _, sc := range res.Scenarios {
		fmt.Fprintf(&b, "## %s\n\n%s.\n\n", sc.Name, sc.Description)
		h := header(sc)
		fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(h, " | "), strings.Repeat("---|", len(h)))
		for _, r := range rows(sc) {
			fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
		}
		b.WriteString("\n")
	}
	if len(res.Skipped) > 0 {
		b.WriteString("## Skipped\n\n")
		for _, s := range res.Skipped {
			fmt.Fprintf(&b, "- %s: %s\n", s.Server, s.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func quickNote(res *runner.Results) string {
	if res.Quick {
		return "; **quick smoke run, not a measurement**"
	}
	return ""
}
