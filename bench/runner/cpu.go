package runner

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const ClockTick = 10 * time.Millisecond

// ProcessCPU is the user and system CPU time process pid has used
// (fields 14 and 15 of /proc/pid/stat), for measurements that read it
// before and after (bench/soak, bench/cmd/slowreaders).
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields from after its closing one.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("runner: /proc stat without a command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so fields 14 and 15 are f[11] and f[12].
	if len(f) < 13 {
		return 0, errors.New("runner: short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("runner: /proc stat: %w", err)
	}
	return time.Duration(utime+stime) * ClockTick, nil
}

// TreeCPU is the CPU time of process pid and its descendants (a server
// that forks does its work in its children), counting those it can still
// read: a child may exit meanwhile.
func TreeCPU(pid int) time.Duration {
	var total time.Duration
	for _, p := range append([]int{pid}, descendants(pid)...) {
		if d, err := ProcessCPU(p); err == nil {
			total += d
		}
	}
	return total
}
