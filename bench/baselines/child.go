package baselines

import (
	"fmt"
	"net"
	"os"
	"time"
)

// Child serves as a baseline child process if this process was started as
// one, and then exits; otherwise it returns false at once. The process
// designs re-execute the running binary, so its main (and a test binary's
// TestMain) must call Child before anything else:
//
//	func main() {
//		if baselines.Child() {
//			return
//		}
//		...
//	}
//
// It never returns true: a child exits when its work is done.
func Child() bool {
	mode, ok := os.LookupEnv(childEnv)
	if !ok {
		return false
	}
	os.Exit(runChild(mode))
	return true
}

func runChild(mode string) int {
	switch mode {
	case modeProbe:
		return probeExit
	case modeConn:
		f := os.NewFile(childFD, "conn")
		c, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "baselines: child:", err)
			return 1
		}
		serve(c)
		return 0
	case modePool:
		f := os.NewFile(childFD, "listener")
		ln, err := net.FileListener(f)
		_ = f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "baselines: child:", err)
			return 1
		}
		// Serves until the parent kills it.
		var backoff time.Duration
		for {
			c, err := ln.Accept()
			if err != nil {
				if !exhausted(err) {
					fmt.Fprintln(os.Stderr, "baselines: child:", err)
					return 1
				}
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			backoff = 0
			serve(c)
		}
	default:
		fmt.Fprintf(os.Stderr, "baselines: child: unknown mode %q\n", mode)
		return 2
	}
}
