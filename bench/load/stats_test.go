package load

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	const us, ms = time.Microsecond, time.Millisecond
	oneToHundredMs := make([]time.Duration, 100)
	for i := range oneToHundredMs {
		oneToHundredMs[i] = time.Duration(i+1) * ms
	}
	tests := []struct {
		name     string
		sorted   []time.Duration
		elapsed  time.Duration
		requests int
		want     Stats
	}{
		{name: "empty", sorted: nil, elapsed: time.Second, requests: 0, want: Stats{}},
		{name: "empty with zero elapsed", sorted: []time.Duration{}, elapsed: 0, requests: 0, want: Stats{}},
		{
			// One value: no spread, so the 1µs floor; 250µs is in
			// [250µs, 251µs).
			name: "single value", sorted: []time.Duration{250 * us}, elapsed: time.Second, requests: 1,
			want: Stats{RPS: 1, Mean: 250 * us, Mode: 250500, Worst: 250 * us, P50: 250 * us, P90: 250 * us, P99: 250 * us, ModeBucket: us},
		},
		{
			// n = 10: P50 is the 5th value, P90 the 9th, P99 the
			// ceil(9.9) = 10th. Sum 7215µs. Quartiles: the 3rd (120µs) and
			// the ceil(7.5) = 8th (310µs); 2*190µs/cbrt(10) = 176µs, down
			// to 100µs. Six values share [100µs, 200µs).
			name: "skewed",
			sorted: []time.Duration{
				100 * us, 110 * us, 120 * us, 120 * us, 125 * us, 130 * us, 300 * us, 310 * us, 900 * us, 5000 * us,
			},
			elapsed: 500 * ms, requests: 10,
			want: Stats{RPS: 20, Mean: 721500, Mode: 150 * us, Worst: 5000 * us, P50: 125 * us, P90: 900 * us, P99: 5000 * us, ModeBucket: 100 * us},
		},
		{
			// 1..100ms: mean 50.5ms; nearest rank gives the 50th, 90th and
			// 99th values. Width 2*(75-25)ms/cbrt(100) = 21.5ms, down to
			// 20ms: [0, 20ms) holds 19 values, the next four buckets 20
			// each, and the lowest of those wins.
			name: "one to a hundred ms", sorted: oneToHundredMs, elapsed: 2 * time.Second, requests: 100,
			want: Stats{RPS: 50, Mean: 50500 * us, Mode: 30 * ms, Worst: 100 * ms, P50: 50 * ms, P90: 90 * ms, P99: 99 * ms, ModeBucket: 20 * ms},
		},
		{
			// n = 8, cbrt(8) = 2, so the width is the interquartile range
			// rounded down: quartiles 200µs and 600µs give 400µs, down to
			// 200µs. Buckets hold 1, 2, 2, 2, 1: the lowest pair wins.
			name: "width rounds down to 2", elapsed: time.Second, requests: 8,
			sorted: []time.Duration{100 * us, 200 * us, 300 * us, 400 * us, 500 * us, 600 * us, 700 * us, 800 * us},
			want:   Stats{RPS: 8, Mean: 450 * us, Mode: 300 * us, Worst: 800 * us, P50: 400 * us, P90: 800 * us, P99: 800 * us, ModeBucket: 200 * us},
		},
		{
			// Quartiles 2µs and 10µs: width 8µs, down to 5µs. Buckets
			// [0, 5µs) and [10µs, 15µs) hold three each: the lower wins.
			// Mean 57µs/8.
			name: "width rounds down to 5", elapsed: time.Second, requests: 8,
			sorted: []time.Duration{1 * us, 2 * us, 4 * us, 6 * us, 8 * us, 10 * us, 12 * us, 14 * us},
			want:   Stats{RPS: 8, Mean: 7125, Mode: 2500, Worst: 14 * us, P50: 6 * us, P90: 14 * us, P99: 14 * us, ModeBucket: 5 * us},
		},
		{
			// Mean 1.5ns truncates to 1ns; P90 is the ceil(1.8) = 2nd value;
			// width is the 1µs floor, both in [0, 1µs).
			name: "mean truncates", sorted: []time.Duration{1, 2}, elapsed: time.Second, requests: 2,
			want: Stats{RPS: 2, Mean: 1, Mode: 500, Worst: 2, P50: 1, P90: 2, P99: 2, ModeBucket: us},
		},
		{
			// Quartiles 10µs and 20µs: 2*10µs/cbrt(4) = 12.6µs, down to
			// 10µs. Two buckets of two: the lower one wins.
			name: "mode tie", sorted: []time.Duration{10 * us, 10 * us, 20 * us, 20 * us}, elapsed: time.Second, requests: 4,
			want: Stats{RPS: 4, Mean: 15 * us, Mode: 15 * us, Worst: 20 * us, P50: 10 * us, P90: 20 * us, P99: 20 * us, ModeBucket: 10 * us},
		},
		{
			name: "zero elapsed gives zero rate", sorted: []time.Duration{us}, elapsed: 0, requests: 1,
			want: Stats{Mean: us, Mode: 1500, Worst: us, P50: us, P90: us, P99: us, ModeBucket: us},
		},
		{
			// Requests is taken as given, not from len(sorted).
			name: "rate uses requests", sorted: []time.Duration{us}, elapsed: 250 * ms, requests: 5,
			want: Stats{RPS: 20, Mean: us, Mode: 1500, Worst: us, P50: us, P90: us, P99: us, ModeBucket: us},
		},
		{
			// The sum overflows int64; the mean must not.
			name: "mean does not overflow", sorted: []time.Duration{math.MaxInt64 / 2, math.MaxInt64 / 2, math.MaxInt64 / 2}, elapsed: time.Second, requests: 3,
			want: Stats{
				RPS: 3, Mean: math.MaxInt64 / 2, Worst: math.MaxInt64 / 2, P50: math.MaxInt64 / 2, P90: math.MaxInt64 / 2, P99: math.MaxInt64 / 2,
				ModeBucket: us, Mode: math.MaxInt64/2/us*us + us/2,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := slices.Clone(tt.sorted)
			got := Summarize(tt.sorted, tt.elapsed, tt.requests)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, in, tt.sorted, "Summarize must not modify its input")
			if len(tt.sorted) > 0 {
				assert.LessOrEqual(t, got.P50, got.P90)
				assert.LessOrEqual(t, got.P90, got.P99)
				assert.LessOrEqual(t, got.P99, got.Worst)
				if got.Mode != math.MaxInt64 {
					assert.Equal(t, got.ModeBucket/2, got.Mode%got.ModeBucket, "mode is a bucket centre")
				}
			}
		})
	}
}

func TestPercentileNearestRank(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, p, rank int // rank is 1-based
	}{
		{1, 50, 1}, {1, 99, 1},
		{2, 50, 1}, {2, 90, 2},
		{10, 50, 5}, {10, 90, 9}, {10, 99, 10},
		{100, 50, 50}, {100, 90, 90}, {100, 99, 99},
		{101, 50, 51}, {101, 99, 100},
		{200, 99, 198},
		{1000, 99, 990},
	}
	for _, tt := range tests {
		sorted := make([]time.Duration, tt.n)
		for i := range sorted {
			sorted[i] = time.Duration(i + 1)
		}
		assert.Equal(t, time.Duration(tt.rank), percentile(sorted, tt.p), "n=%d p=%d", tt.n, tt.p)
	}
}

func TestBucketWidth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		iqr  time.Duration
		n    int
		want time.Duration
	}{
		{0, 1, time.Microsecond},
		{time.Microsecond, 8, time.Microsecond}, // 1µs
		{1999, 8, time.Microsecond},             // 1.999µs
		{2 * time.Microsecond, 8, 2 * time.Microsecond},
		{4999, 8, 2 * time.Microsecond},
		{5 * time.Microsecond, 8, 5 * time.Microsecond},
		{10 * time.Microsecond, 8, 10 * time.Microsecond},
		{300 * time.Microsecond, 1_000_000, 5 * time.Microsecond}, // 600µs/100 = 6µs
		{300 * time.Microsecond, 1000, 50 * time.Microsecond},     // 600µs/10 = 60µs
		{3 * time.Second, 1, 5 * time.Second},                     // 6s
		{math.MaxInt64, 1, 5e18},                                  // 1e19 is not a Duration
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, bucketWidth(0, tt.iqr, tt.n), "iqr=%v n=%d", tt.iqr, tt.n)
	}
	assert.Equal(t, 5*time.Microsecond, bucketWidth(-4*time.Microsecond, 4*time.Microsecond, 8), "iqr from negative quartiles")
}

func TestModeSaturates(t *testing.T) {
	t.Parallel()
	// [max - max%5µs, +5µs): the centre is past the largest Duration.
	assert.Equal(t, time.Duration(math.MaxInt64), mode([]time.Duration{math.MaxInt64}, 5*time.Microsecond))
	assert.Equal(t, time.Duration(math.MaxInt64/1000*1000+500), mode([]time.Duration{math.MaxInt64}, time.Microsecond))
}
