package soak_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/carhop/carhop/bench/soak"
)

// A command that runs the soak: Child first, since the server is this
// binary re-executed; then Run, and the report. (Not run as a test: it
// takes the Duration and the machine's CPUs.)
func ExampleRun() {
	if soak.Child() {
		return
	}
	res, err := soak.Run(context.Background(), soak.Config{Duration: 30 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	_ = soak.Table(os.Stdout, res)
	if _, err := soak.Write("bench/results/soak", res); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Println(res.Errors(), res.Settled)
}
