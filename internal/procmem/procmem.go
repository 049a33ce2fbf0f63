// Package procmem reads a process's memory from Linux's /proc: the size
// fields of /proc/pid/status, and the largest resident set seen while a
// test or a benchmark runs.
//
// VmHWM, the kernel's own peak, is not enough for a Go process: the
// kernel raises it on some paths only, and memory the Go runtime returns
// with madvise lowers the resident set without it, so that a peak read
// afterwards can be below a resident set read before. Watch samples
// VmRSS instead. The package owns nothing but those reads; it imports
// nothing of carhop's.
package procmem

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bytes reads a size field of /proc/pid/status ("VmRSS", "VmHWM"), in
// bytes.
func Bytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("procmem: no %s in /proc/%d/status", field, pid)
}

// Watch samples the resident set of process pid every interval until the
// function it returns is first called, which returns the largest sample,
// or VmHWM if that is larger: the peak, as far as either saw it. Later
// calls return the same; a test may defer one to stop the sampling
// whatever happens.
func Watch(pid int, every time.Duration) (peak func() int64) {
	var largest int64
	var once sync.Once
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if n, err := Bytes(pid, "VmRSS"); err == nil {
				largest = max(largest, n)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		once.Do(func() {
			close(stop)
			<-done
			if hwm, err := Bytes(pid, "VmHWM"); err == nil {
				largest = max(largest, hwm)
			}
		})
		return largest
	}
}
