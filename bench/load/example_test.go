package load_test

import (
	"fmt"
	"time"

	"github.com/carhop/carhop/bench/load"
)

func ExampleSummarize() {
	const us = time.Microsecond
	latencies := []time.Duration{ // sorted ascending, as in Result.Latencies
		100 * us, 110 * us, 120 * us, 120 * us, 125 * us,
		130 * us, 300 * us, 310 * us, 900 * us, 5000 * us,
	}
	s := load.Summarize(latencies, 500*time.Millisecond, len(latencies))
	fmt.Printf("rps=%.0f mean=%v worst=%v\n", s.RPS, s.Mean, s.Worst)
	fmt.Printf("p50=%v p90=%v p99=%v\n", s.P50, s.P90, s.P99)
	fmt.Printf("mode=%v (bucket %v)\n", s.Mode, s.ModeBucket)
	// Output:
	// rps=20 mean=721.5µs worst=5ms
	// p50=125µs p90=900µs p99=5ms
	// mode=150µs (bucket 100µs)
}
