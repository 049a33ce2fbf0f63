package load

import (
	"math"
	"time"
)

// Stats summarises one run's latencies. See Summarize for the rules.
type Stats struct {
	RPS                              float64
	Mean, Mode, Worst, P50, P90, P99 time.Duration
	ModeBucket                       time.Duration // width of the histogram bucket Mode is the centre of
}

// MinModeBucket is the narrowest histogram bucket Summarize uses for the
// mode.
const MinModeBucket = time.Microsecond

// Summarize computes Stats from latencies sorted ascending, the wall time
// they were measured over and the number of completed requests. It is pure:
// the same arguments always give the same Stats, and sorted is not
// modified. The rules, all on integer nanoseconds:
//
//   - RPS is requests / elapsed in seconds (0 if elapsed <= 0).
//   - Mean is the exact sum divided by len(sorted), truncated towards zero
//     to the nanosecond (no overflow however many latencies there are).
//   - Worst is the largest value, sorted[len(sorted)-1].
//   - P50, P90 and P99 use the nearest-rank method: the p-th percentile of
//     n values is sorted[ceil(p*n/100)-1], always one of the measured
//     values, never interpolated. With fewer than 100 values P99 is
//     therefore the worst value.
//   - Mode is the centre of the fullest bucket of a histogram whose buckets
//     are [k*w, (k+1)*w) for k = 0, 1, 2, ...: the mode is k*w + w/2. The
//     width w follows the Freedman-Diaconis rule, 2*(P75-P25)/cbrt(n),
//     with nearest-rank quartiles, rounded down to 1, 2 or 5 times a
//     power of ten nanoseconds, and is at least MinModeBucket (1µs); it is
//     returned as ModeBucket. The rule follows the spread of the bulk of
//     the latencies, so a long tail does not coarsen it (as a width taken
//     from P99 would), and it gets finer as samples accumulate; rounding
//     keeps it a readable number. When several buckets are equally full
//     the one with the lowest latencies wins. (A centre beyond the
//     largest Duration, for latencies of centuries, saturates.)
//
// With no latencies every field but RPS is zero.
func Summarize(sorted []time.Duration, elapsed time.Duration, requests int) Stats {
	var s Stats
	if elapsed > 0 {
		s.RPS = float64(requests) / elapsed.Seconds()
	}
	n := len(sorted)
	if n == 0 {
		return s
	}
	s.Mean = mean(sorted)
	s.Worst = sorted[n-1]
	s.P50 = percentile(sorted, 50)
	s.P90 = percentile(sorted, 90)
	s.P99 = percentile(sorted, 99)
	s.ModeBucket = bucketWidth(percentile(sorted, 25), percentile(sorted, 75), n)
	s.Mode = mode(sorted, s.ModeBucket)
	return s
}

// mean is the exact mean, truncated towards zero. It keeps the running
// quotient and remainder of each value divided by n, so it cannot overflow.
func mean(d []time.Duration) time.Duration {
	n := int64(len(d))
	var q, r int64
	for _, v := range d {
		q += int64(v) / n
		r += int64(v) % n
		if r >= n {
			q++
			r -= n
		} else if r <= -n {
			q--
			r += n
		}
	}
	// q + r/n, truncated towards zero.
	if q > 0 && r < 0 {
		q--
	} else if q < 0 && r > 0 {
		q++
	}
	return time.Duration(q)
}

// percentile is the nearest-rank p-th percentile of sorted, p in 1..100.
func percentile(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	rank := (p*n + 99) / 100 // ceil(p*n/100)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// bucketWidth is the Freedman-Diaconis width for n values with quartiles
// p25 and p75, rounded down to 1, 2 or 5 times a power of ten, at least
// MinModeBucket.
func bucketWidth(p25, p75 time.Duration, n int) time.Duration {
	fd := 2 * (float64(p75) - float64(p25)) / math.Cbrt(float64(n))
	w := MinModeBucket
	for decade := float64(MinModeBucket); decade <= fd; decade *= 10 {
		for _, m := range [...]float64{1, 2, 5} {
			if c := m * decade; c <= fd && c < math.MaxInt64 {
				w = time.Duration(c)
			}
		}
	}
	return w
}

// mode is the centre of the fullest width-wide bucket of sorted; ties go
// to the lowest bucket. Sorted input makes each bucket one run.
func mode(sorted []time.Duration, width time.Duration) time.Duration {
	bucket := func(d time.Duration) time.Duration {
		b := d / width
		if d < 0 && d%width != 0 {
			b-- // floor, so negative values get buckets of their own
		}
		return b
	}
	best, bestCount := bucket(sorted[0]), 0
	cur, count := best, 0
	for _, d := range sorted {
		if b := bucket(d); b != cur {
			cur, count = b, 0
		}
		count++
		if count > bestCount {
			best, bestCount = cur, count
		}
	}
	if best > (math.MaxInt64-width/2)/width {
		return math.MaxInt64 // the centre of the top bucket would overflow
	}
	return best*width + width/2
}
