package soak

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTallyAddMergeResult(t *testing.T) {
	a, b := &tally{}, &tally{}
	a.add(outcome{served: 1, latency: 3 * time.Millisecond})
	a.add(outcome{served: 10, latency: time.Millisecond}) // a pipelined batch: ten requests, one latency
	a.add(failure(ErrReset, errors.New("reset by peer")))
	b.add(outcome{expected: 1, latency: 2 * time.Millisecond})
	b.add(outcome{expected: 4}) // a slowloris round: no latency
	b.add(failure(ErrReset, nil))
	b.add(outcome{failed: 2, errKind: ErrNotClosed, err: errors.New("2 still open")})
	all := &tally{}
	all.merge(a)
	all.merge(b)

	r := all.result(Bad, 3, 2*time.Second)
	assert.Equal(t, Bad, r.Kind)
	assert.Equal(t, 3, r.Workers)
	assert.Equal(t, 11, r.Served)
	assert.Equal(t, 5, r.Expected)
	assert.Equal(t, map[string]int{ErrReset: 2, ErrNotClosed: 2}, r.Errors)
	assert.Equal(t, 4, r.ErrorCount())
	assert.Equal(t, []string{"connection reset: reset by peer", "not closed: 2 still open"}, r.Examples)
	assert.InDelta(t, 8.0, r.RPS, 1e-9, "served and expected over the elapsed time")
	assert.Equal(t, 3, r.Operations)
	assert.Equal(t, 2*time.Millisecond, r.P50, "nearest rank of 1, 2, 3 ms")
	assert.Equal(t, 3*time.Millisecond, r.P99)
	assert.Equal(t, 3*time.Millisecond, r.Worst)
	assert.Len(t, all.latencies, 3, "result does not reorder the tally")
}

func TestTallyKeepsFewExamples(t *testing.T) {
	var tl tally
	for i := range 2 * maxExamples {
		tl.add(failure(ErrOther, fmt.Errorf("e%d", i)))
	}
	assert.Len(t, tl.examples, maxExamples)
	assert.Equal(t, 2*maxExamples, tl.errors[ErrOther])
	r := tl.result(Small, 1, 0)
	assert.Zero(t, r.RPS, "no elapsed time, no rate")
	assert.Zero(t, r.P50)
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{os.ErrDeadlineExceeded, ErrTimeout},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), ErrReset},
		{fmt.Errorf("write: %w", syscall.EPIPE), ErrReset},
		{io.ErrUnexpectedEOF, ErrShort},
		{io.EOF, ErrShort},
		{fmt.Errorf("shutdown: %w", syscall.ENOTCONN), ErrReset},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), ErrRefused},
		{fmt.Errorf("%w: %w", errDial, syscall.ECONNRESET), ErrRefused},
		{fmt.Errorf("%w: %w", errUnanswered, io.EOF), ErrUnanswered},
		{errors.New("malformed HTTP response"), ErrOther},
	} {
		assert.Equal(t, tc.want, classify(tc.err), "%v", tc.err)
	}
}

func TestRangeOfSkipsFailedSamples(t *testing.T) {
	samples := []Sample{
		{At: 0, Goroutines: 20},
		{At: time.Second, Goroutines: 31},
		{At: 2 * time.Second, Error: "stats: timeout"},
		{At: 3 * time.Second, Goroutines: 21},
	}
	r := rangeOf(samples, func(s Sample) int64 { return int64(s.Goroutines) })
	assert.Equal(t, Range{Start: 20, Peak: 31, End: 21}, r)
	assert.Equal(t, Range{}, rangeOf(nil, func(s Sample) int64 { return s.RSS }))
}

func TestRatesFromSamples(t *testing.T) {
	samples := []Sample{
		{At: 0, Done: 0},
		{At: time.Second, Done: 100},
		{At: 1500 * time.Millisecond, Done: 250},
		{At: 3 * time.Second, Done: 300}, // after the load: left out
	}
	got := rates(samples, 2*time.Second)
	require.Len(t, got, 2)
	assert.Equal(t, Rate{At: time.Second, RPS: 100}, got[0])
	assert.Equal(t, Rate{At: 1500 * time.Millisecond, RPS: 300}, got[1])
}

func TestPatternIsCheckedByteByByte(t *testing.T) {
	const n = 200_000 // past patternBlock's length: wraps around
	body, err := io.ReadAll(newPattern(7, n))
	require.NoError(t, err)
	require.Len(t, body, n)
	buf := make([]byte, 4096)
	for _, tc := range []struct {
		name  string
		body  []byte
		seed  uint64
		match bool
	}{
		{"same", body, 7, true},
		{"other seed", body, 8, false},
		{"short", body[:n-1], 7, false},
		{"long", append(append([]byte{}, body...), 0), 7, false},
		{"one byte changed", func() []byte { b := bytes.Clone(body); b[n/2] ^= 1; return b }(), 7, false},
	} {
		got, match, err := verifyPattern(bytes.NewReader(tc.body), tc.seed, n, buf)
		require.NoError(t, err, tc.name)
		assert.Equal(t, int64(len(tc.body)), got, tc.name)
		assert.Equal(t, tc.match, match, tc.name)
	}
	other, err := io.ReadAll(newPattern(8, n))
	require.NoError(t, err)
	assert.NotEqual(t, body, other, "bodies differ by seed")
}

func TestMergeBad(t *testing.T) {
	a := &badClient{}
	b := &badClient{next: 1}
	a.cases = make([]BadCase, len(badCases))
	b.cases = make([]BadCase, len(badCases))
	a.cases[0] = BadCase{Sent: 2, Exact: 2}
	b.cases[0] = BadCase{Sent: 3, Exact: 2, Got: map[int]int{200: 1}}
	got := mergeBad([]*badClient{a, b, {}})
	require.Len(t, got, len(badCases))
	assert.Equal(t, BadCase{Name: badCases[0].name, Want: badCases[0].want, Sent: 5, Exact: 4, Got: map[int]int{200: 1}}, got[0])
	assert.Zero(t, got[1].Sent)
}

func TestMachineSteal(t *testing.T) {
	steal, err := machineSteal()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, steal, time.Duration(0))
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.normalize()
	assert.Equal(t, 3*time.Minute, c.Duration)
	assert.Equal(t, time.Second, c.SampleEvery)
	assert.Equal(t, DefaultWorkers, c.Workers)
	assert.Equal(t, -1, c.ServerCPU, "unpinned unless the caller says where")
	assert.Equal(t, 2, c.GoroutineMargin)

	c = Config{Workers: map[Kind]int{Small: 1, Bad: 0, Upload: -3}, Pinning: "cpu 0", ServerCPU: 0}.normalize()
	assert.Equal(t, 1, c.Workers[Small])
	assert.Zero(t, c.Workers[Bad], "0 leaves a kind out")
	assert.Zero(t, c.Workers[Upload])
	assert.Equal(t, DefaultWorkers[Stream], c.Workers[Stream], "a kind not named keeps its default")
	assert.Len(t, c.Workers, len(Kinds))
	assert.Zero(t, c.ServerCPU)
}
