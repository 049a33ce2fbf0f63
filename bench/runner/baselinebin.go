package runner

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// BaselinePackage is the command the naive designs run from when the
// runner can build it: it imports only bench/baselines and the standard
// library.
const BaselinePackage = "github.com/carhop/carhop/bench/cmd/baseline"

// BuildBaselineBinary builds BaselinePackage into dir with the go command
// and returns the binary's path. It needs the go command and the module's
// source (the working directory inside it, as `go run ./bench/cmd/bench`
// has it).
//
// The process designs re-execute their own binary for every child:
// process-per-conn for every connection. The bench binary carries the
// report generator (gonum/plot, its fonts), the progress bar and every Go
// peer, and its package initialisation alone costs milliseconds per
// start; the design studied is "a fresh OS process per connection", not
// "a fresh copy of the report generator", so the baselines run from this
// small binary instead.
func BuildBaselineBinary(ctx context.Context, dir string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building %s: %w", BaselinePackage, err)
	}
	bin := filepath.Join(dir, "carhop-baseline")
	out, err := exec.CommandContext(ctx, goCmd, "build", "-o", bin, BaselinePackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", BaselinePackage, err, tail(out, 2000))
	}
	return bin, nil
}

// binaryServer runs `bin -serve name -addr addr`: bench/cmd/baseline's
// command line, which is also the bench binary's server mode.
func binaryServer(name, kind, bin string) Server {
	return Server{Name: name, Kind: kind, Command: func(addr, _ string) (*exec.Cmd, error) {
		return exec.Command(bin, ServeFlag, name, "-addr", addr), nil
	}}
}
