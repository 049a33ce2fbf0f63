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
			// width: 250µs/100 = 2.5µs, rounded up to 5µs; 250µs is in
			// bucket [250µs, 255µs), centre 252.5µs.
			name: "single value", sorted: []time.Duration{250 * us}, elapsed: time.Second, requests: 1,
			want: Stats{RPS: 1, Mean: 250 * us, Mode: 252500, Worst: 250 * us, P50: 250 * us, P90: 250 * us, P99: 250 * us, ModeBucket: 5 * us},
		},
		{
			// n = 10: P50 is the 5th value, P90 the 9th, P99 the
			// ceil(9.9) = 10th. Sum 7215µs. Width 5000µs/100 = 50µs, so
			// six values share [100µs, 150µs): mode 125µs.
			name: "skewed",
			sorted: []time.Duration{
				100 * us, 110 * us, 120 * us, 120 * us, 125 * us, 130 * us, 300 * us, 310 * us, 900 * us, 5000 * us,
			},
			elapsed: 500 * ms, requests: 10,
			want: Stats{RPS: 20, Mean: 721500, Mode: 125 * us, Worst: 5000 * us, P50: 125 * us, P90: 900 * us, P99: 5000 * us, ModeBucket: 50 * us},
		},
		{
			// 1..100ms: mean 50.5ms; nearest rank gives the 50th, 90th and
			// 99th values. Width 0.99ms -> 1ms: one value per bucket, so
			// the tie goes to the lowest bucket, [1ms, 2ms).
			name: "one to a hundred ms", sorted: oneToHundredMs, elapsed: 2 * time.Second, requests: 100,
			want: Stats{RPS: 50, Mean: 50500 * us, Mode: 1500 * us, Worst: 100 * ms, P50: 50 * ms, P90: 90 * ms, P99: 99 * ms, ModeBucket: ms},
		},
		{
			// Mean 1.5ns truncates to 1ns; P90 is the ceil(1.8) = 2nd value;
			// width is the 1µs floor, both in [0, 1µs).
			name: "mean truncates", sorted: []time.Duration{1, 2}, elapsed: time.Second, requests: 2,
			want: Stats{RPS: 2, Mean: 1, Mode: 500, Worst: 2, P50: 1, P90: 2, P99: 2, ModeBucket: us},
		},
		{
			// Two buckets of two: the lower one wins.
			name: "mode tie", sorted: []time.Duration{10 * us, 10 * us, 20 * us, 20 * us}, elapsed: time.Second, requests: 4,
			want: Stats{RPS: 4, Mean: 15 * us, Mode: 10*us + 500, Worst: 20 * us, P50: 10 * us, P90: 20 * us, P99: 20 * us, ModeBucket: us},
		},
		{
			// 1.3ms/100 = 13µs rounds up to 20µs: bucket [1.3ms, 1.32ms).
			name: "width rounds to 1-2-5", sorted: []time.Duration{1300 * us, 1300 * us, 1300 * us}, elapsed: time.Second, requests: 3,
			want: Stats{RPS: 3, Mean: 1300 * us, Mode: 1310 * us, Worst: 1300 * us, P50: 1300 * us, P90: 1300 * us, P99: 1300 * us, ModeBucket: 20 * us},
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
				// (MaxInt64/2)/100 ≈ 4.6e16 rounds up to 5e16ns; the
				// values are in bucket 92.
				ModeBucket: 5e16, Mode: 92*5e16 + 2.5e16,
			},
		},
		{
			// The top bucket's centre would overflow: it saturates.
			name: "mode saturates", sorted: []time.Duration{math.MaxInt64}, elapsed: time.Second, requests: 1,
			want: Stats{
				RPS: 1, Mean: math.MaxInt64, Worst: math.MaxInt64, P50: math.MaxInt64, P90: math.MaxInt64, P99: math.MaxInt64,
				ModeBucket: 1e17, Mode: math.MaxInt64,
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
		p99, want time.Duration
	}{
		{0, time.Microsecond},
		{100 * time.Microsecond, time.Microsecond},
		{101 * time.Microsecond, 2 * time.Microsecond},
		{200 * time.Microsecond, 2 * time.Microsecond},
		{201 * time.Microsecond, 5 * time.Microsecond},
		{501 * time.Microsecond, 10 * time.Microsecond},
		{15 * time.Millisecond, 200 * time.Microsecond},
		{3 * time.Second, 50 * time.Millisecond},
		{math.MaxInt64, 1e17},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, bucketWidth(tt.p99), "p99=%v", tt.p99)
	}
}
