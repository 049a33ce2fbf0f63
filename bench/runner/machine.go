package runner

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
)

// Machine describes where the suite ran, for the report.
type Machine struct {
	CPU      string            `json:"cpu"`
	Cores    int               `json:"cores"`
	Kernel   string            `json:"kernel"`
	Go       string            `json:"go"`
	Versions map[string]string `json:"versions"`
}

func describeMachine() Machine {
	// Cores are counted from /proc/cpuinfo: runtime.NumCPU would report
	// the one CPU this pinned process may use.
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Versions: map[string]string{}}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		cores := 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			switch k = strings.TrimSpace(k); {
			case ok && k == "processor":
				cores++
			case ok && k == "model name" && m.CPU == "":
				m.CPU = strings.TrimSpace(v)
			}
		}
		_ = f.Close()
		if cores > 0 {
			m.Cores = cores
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/panjf2000/gnet/v2", "github.com/lesismal/nbio", "github.com/valyala/fasthttp":
				m.Versions[d.Path] = d.Version
			}
		}
	}
	if out, err := exec.Command(nginxPath(), "-v").CombinedOutput(); err == nil {
		m.Versions["nginx"] = strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: "))
	}
	for _, mod := range []string{"waitress", "gunicorn", "gevent"} {
		out, err := exec.Command(debianPython, "-c", "import importlib.metadata as m; print(m.version('"+mod+"'))").Output()
		if err == nil {
			m.Versions[mod] = strings.TrimSpace(string(out))
		}
	}
	return m
}
