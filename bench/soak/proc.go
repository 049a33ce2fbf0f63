package soak

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// processCPU is the user and system CPU time process pid has used
// (fields 14 and 15 of /proc/pid/stat).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields from after its closing one.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("soak: /proc stat without a command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so fields 14 and 15 are f[11] and f[12].
	if len(f) < 13 {
		return 0, errors.New("soak: short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("soak: /proc stat: %w", err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

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
	return time.Duration(steal) * clockTick, nil
}
