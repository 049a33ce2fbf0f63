package soak

import (
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/carhop/carhop/bench/load"
)

// outcome is what one operation of a worker came to: a request, a
// pipelined batch, a round of slowloris clients.
type outcome struct {
	served   int // requests answered as the kind expects them to be
	expected int // refusals the kind expects (bad requests, slowloris cut)
	failed   int // requests that failed, all of errKind
	errKind  string
	err      error         // the first failure, for the examples in the report
	latency  time.Duration // of the whole operation; 0 records none
}

func failure(kind string, err error) outcome { return outcome{failed: 1, errKind: kind, err: err} }

// classify names the kind of a transport error.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errUnanswered):
		return ErrUnanswered
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, errDial) && errors.Is(err, syscall.ECONNRESET):
		// A listener closed with connections in its queue resets them.
		return ErrRefused
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ENOTCONN):
		return ErrReset
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ErrShort
	}
	return ErrOther
}

// maxExamples bounds the error messages kept per kind.
const maxExamples = 5

// tally accumulates one kind's outcomes. Each worker has its own; they
// are merged at the end, so none is shared while the load runs.
type tally struct {
	served, expected int
	errors           map[string]int
	examples         []string
	latencies        []time.Duration
}

func (t *tally) add(o outcome) {
	t.served += o.served
	t.expected += o.expected
	if o.failed > 0 {
		if t.errors == nil {
			t.errors = map[string]int{}
		}
		t.errors[o.errKind] += o.failed
		if o.err != nil && len(t.examples) < maxExamples {
			t.examples = append(t.examples, o.errKind+": "+o.err.Error())
		}
	}
	if o.latency > 0 {
		t.latencies = append(t.latencies, o.latency)
	}
}

func (t *tally) merge(o *tally) {
	t.served += o.served
	t.expected += o.expected
	for k, n := range o.errors {
		if t.errors == nil {
			t.errors = map[string]int{}
		}
		t.errors[k] += n
	}
	for _, e := range o.examples {
		if len(t.examples) < maxExamples {
			t.examples = append(t.examples, e)
		}
	}
	t.latencies = append(t.latencies, o.latencies...)
}

// KindResult is one kind's figures over the run.
type KindResult struct {
	Kind    Kind `json:"kind"`
	Workers int  `json:"workers"`
	// Served counts requests answered as expected; Expected counts the
	// refusals the kind is made of (bad requests with their exact status
	// and a close, slowloris connections cut by the server). Neither is
	// an error.
	Served   int            `json:"served"`
	Expected int            `json:"expected_refusals"`
	Errors   map[string]int `json:"errors,omitempty"`
	Examples []string       `json:"error_examples,omitempty"`
	// RPS is (Served + Expected) per second of load.
	RPS float64 `json:"rps"`
	// Operations is how many latencies were recorded: one per request,
	// per pipelined batch, none for slowloris rounds.
	Operations int           `json:"operations"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	Worst      time.Duration `json:"worst_ns"`
}

// ErrorCount is the sum of the errors of every kind.
func (k KindResult) ErrorCount() int { return total(k.Errors) }

// total is the sum of counts by kind.
func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// result turns t into a KindResult over elapsed.
func (t *tally) result(kind Kind, workers int, elapsed time.Duration) KindResult {
	lat := slices.Clone(t.latencies)
	slices.Sort(lat)
	st := load.Summarize(lat, elapsed, t.served+t.expected)
	r := KindResult{Kind: kind, Workers: workers, Served: t.served, Expected: t.expected,
		RPS: st.RPS, Operations: len(lat), P50: st.P50, P99: st.P99, Worst: st.Worst, Examples: t.examples}
	if len(t.errors) > 0 {
		r.Errors = maps.Clone(t.errors)
	}
	return r
}
