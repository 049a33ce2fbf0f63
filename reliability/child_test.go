package reliability

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/internal/syncbuf"
)

// raceExitCode is the exit status of a process built with -race that
// saw a data race (GORACE's exitcode, 66 by default).
const raceExitCode = 66

// child is a server the test binary runs in a process of its own, chosen
// by env (TestMain's dispatch): it prints its address on a line and
// serves until its standard input closes.
type child struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}  // closed once the process has exited
	rest   syncbuf.Buffer // what it printed after its address
}

// startChild starts the child and waits for its address; its log goes to
// stderr. When the test ends, its input is closed and it has a minute to
// exit before it is killed.
func startChild(t *testing.T, stderr io.Writer, env ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), exited: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = stderr
	stdin, err := c.cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	go func() {
		_, _ = io.Copy(&c.rest, out)
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(time.Minute):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		// Under go test -race the child is built with the race detector,
		// which reports a race on the child's stderr and carries on: its
		// exit status is what fails the test.
		if c.cmd.ProcessState.ExitCode() == raceExitCode {
			t.Errorf("the child server reported a data race (on its stderr, above)")
		}
	})
	require.NoError(t, err, "the child printed no address: %s", stderr)
	c.addr = strings.TrimSpace(line)
	return c
}

// alive fails the test if the child has exited, with what it printed.
func (c *child) alive(t *testing.T, stderr fmt.Stringer) {
	t.Helper()
	select {
	case <-c.exited:
		t.Fatalf("the server stopped: %s%s", &c.rest, stderr)
	default:
	}
}
