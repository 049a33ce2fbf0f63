package runner_test

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/carhop/carhop/bench/runner"
)

// Start runs a server the suite does not know the way it runs its own:
// its own process group, a free port, its output in server.log, and a
// return only once it answers GET /. (Not run as a test: it needs the
// server's binary.)
func ExampleStart() {
	s := runner.Server{Name: "mine", Kind: "carhop", Command: func(addr, dir string) (*exec.Cmd, error) {
		return exec.Command("./my-server", "-listen", addr, "-tmp", dir), nil
	}}
	p, err := runner.Start(context.Background(), s, -1)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
	rss, _ := runner.RSS(p.Pid())
	fmt.Println(p.Addr(), rss)
}
