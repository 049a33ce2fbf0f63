package runner

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
)

// RepinSelf re-executes the running command pinned to CPU 1 (servers go to CPU 0),
// when the machine has two CPUs and taskset exists; it reports the child's
// exit code and whether it did so. pinnedEnv names the variable that marks
// the re-executed process (which does not re-execute again); the caller
// pins its servers to CPU 0 when it is set.
func RepinSelf(pinnedEnv string) (int, bool) {
	if os.Getenv(pinnedEnv) != "" || runtime.NumCPU() < 2 {
		return 0, false
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(ts, append([]string{"-c", "1", exe}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), pinnedEnv+"=1")
	// The child stops the servers it started when it is signalled; if
	// this process is killed outright, the kernel signals it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// Ctrl-C reaches both processes (one process group); kill -INT or
	// -TERM of this pid reaches only this one: pass it on, and wait for
	// the child to clean up rather than dying first.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 1, true
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), true
		}
		return 1, true
	}
	return 0, true
}
