package soak

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/carhop/carhop/bench/runner"
)

// machineSteal is the CPU time the hypervisor took from this machine's
// CPUs, all of them together (the steal column of /proc/stat's cpu
// line): on a shared virtual machine, a stall with steal rising is the
// host's, not the server's.
func machineSteal() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("soak: no cpu line in /proc/stat")
	}
	steal, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("soak: /proc/stat steal: %w", err)
	}
	return time.Duration(steal) * runner.ClockTick, nil
}
