package soak

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSoakEndToEnd runs the real soak for a few seconds: carhop in a
// child process, every kind of traffic, the sampler and the settling.
func TestSoakEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server in a child process for several seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{Duration: 3 * time.Second, SampleEvery: 500 * time.Millisecond})
	require.NoError(t, err)
	t.Logf("server log: %s", res.ServerLog)
	require.Zero(t, res.DataRaces, "the server (built with -race under go test -race) raced")
	slow, _ := res.Kind(SlowClient)
	t.Logf("spilled outputs %d, slow clients served %d", res.ServerEnd.Server.SpilledOutputs, slow.Served)

	for _, k := range res.Kinds {
		assert.Positive(t, k.Served+k.Expected, "%s: nothing served", k.Kind)
		assert.Zero(t, k.ErrorCount(), "%s: errors %v, e.g. %v", k.Kind, k.Errors, k.Examples)
	}
	require.Len(t, res.Kinds, len(Kinds))
	bad, _ := res.Kind(Bad)
	assert.Zero(t, bad.Served, "a bad request is never served")
	sent := 0
	for _, bc := range res.BadCases {
		assert.Equal(t, bc.Sent, bc.Exact, "%s: want %d every time, got %v", bc.Name, bc.Want, bc.Got)
		sent += bc.Sent
	}
	assert.Equal(t, bad.Expected, sent)
	lor, _ := res.Kind(Slowloris)
	assert.Equal(t, 0, lor.Served)
	assert.GreaterOrEqual(t, lor.Expected, slowlorisConns, "a round of slowloris clients, all cut")

	assert.True(t, res.Settled, "server did not settle: goroutines %+v, last sample %+v", res.Goroutines, res.Samples[len(res.Samples)-1])
	assert.LessOrEqual(t, res.Goroutines.End, res.Goroutines.Start+2)
	assert.Zero(t, res.TempFilesLeft)
	assert.Zero(t, res.OpenSpillFiles)
	assert.Zero(t, res.ServerEnd.Server.OpenFiles, "files still counted against the descriptor budget")
	assert.Zero(t, res.ServerEnd.Server.FilesDenied, "a budget of thousands of files ran out")
	assert.Zero(t, res.ServerEnd.Server.BufferedBytes, "memory still counted against the buffer budget")
	assert.Positive(t, res.ServerEnd.Server.BufferMemoryDenied, "the memory budget sent bodies or outputs to disk early")
	assert.Positive(t, res.ServerEnd.Server.SpilledBodies, "uploads went through spill files")
	assert.Positive(t, res.ServerEnd.Server.SpilledOutputs, "the slow clients' responses went through spill files")
	assert.Positive(t, res.ServerEnd.Server.InputEnded, "half-closed clients were answered after their EOF")
	assert.Positive(t, res.ServerEnd.Server.Hijacked, "upgrades went through http.Hijacker")
	assert.Zero(t, res.ServerEnd.Server.HijackedOpen, "hijacked connections still counted open")
	cont, _ := res.Kind(Continue)
	assert.Positive(t, cont.Served, "100-continue uploads with trailers")
	assert.Positive(t, cont.Expected, "100-continue uploads refused with 413 unsent")
	assert.GreaterOrEqual(t, len(res.Samples), 4, "baseline, samples under load, settled")
	assert.Positive(t, res.RSS.Peak)
	assert.GreaterOrEqual(t, res.RSS.Peak, res.RSS.Start)
	assert.NotEmpty(t, res.Rates)
	assert.False(t, res.Interrupted)

	turned := assertDrained(t, res.Drain)
	assert.Positive(t, turned[TurnedBusy], "new connections answered 503 during the drain")
}

// assertDrained checks the drain that ends a run: the server exited 0,
// every exchange was served or turned away as a drain may, nothing was
// left on disk. It returns how many exchanges the drain turned away, by
// how.
func assertDrained(t *testing.T, d *DrainResult) (turned map[string]int) {
	t.Helper()
	require.NotNil(t, d, "a run ends with a drain")
	t.Log(DrainVerdict(d))
	assert.True(t, d.Exited, "the server exited after SIGTERM")
	assert.Zero(t, d.ExitCode, "a complete drain: %s", d.ExitErr)
	assert.Zero(t, d.TempFilesLeft)
	served, turned := 0, map[string]int{}
	for _, k := range d.Kinds {
		assert.Zero(t, len(k.Errors), "drain, %s: errors %v, e.g. %v", k.Kind, k.Errors, k.Examples)
		served += k.Served
		for how, n := range k.TurnedAway {
			turned[how] += n
		}
	}
	assert.Positive(t, served, "served under load before and during the drain")
	assert.True(t, d.OK())
	return turned
}

// TestSoakRestart runs the soak with graceful restart: every kind of
// traffic through carhop's own accept, then the server replaced under the
// load (SIGHUP) and the new process drained (SIGTERM). The restart
// refuses no one: what it turns away is only a request meeting its
// kept-alive connection's close, or requests behind a response that said
// Connection: close.
func TestSoakRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server in a child process for several seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{Duration: 2 * time.Second, SampleEvery: 500 * time.Millisecond, Restart: true})
	require.NoError(t, err)
	require.Zero(t, res.DataRaces, "the server raced: %s", res.ServerLog)
	assert.Zero(t, res.Errors(), "%+v", res.Kinds)
	assert.True(t, res.Settled)
	d := res.Drain
	assertDrained(t, d)
	assert.True(t, d.Restart)
	assert.Zero(t, d.OldExitCode, "the old process drained completely")
	assert.NotZero(t, d.NewPID)
	for _, k := range d.Kinds {
		for how := range k.InRestart {
			assert.Contains(t, []string{TurnedClosed, TurnedUnanswered, TurnedReplaced}, how, "%s: a restart refuses no one", k.Kind)
		}
	}
}

// TestSoakInterrupted stops the load early, as Ctrl-C does: every client
// leaves mid-exchange at once (which crashed the server until the channel
// stopped cancelling refusals), and the server must survive, settle, and
// the partial result come back marked.
func TestSoakInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server in a child process for several seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Cancelled 1.5 s into the load, not 2 s after Run: on a loaded
	// machine starting the child server alone took longer than that, and
	// Run then had no result to return.
	progress := func(elapsed, _ time.Duration) {
		if elapsed >= 1500*time.Millisecond {
			cancel()
		}
	}
	res, err := Run(ctx, Config{Duration: time.Minute, SampleEvery: 500 * time.Millisecond, Progress: progress})
	require.ErrorIs(t, err, context.Canceled, "and not: the server exited")
	require.NotNil(t, res)
	assert.True(t, res.Interrupted)
	assert.Less(t, res.Elapsed, res.Duration)
	assert.Zero(t, res.Errors(), "interrupted exchanges are not errors: %+v", res.Kinds)
	assert.Zero(t, res.DataRaces, "the server raced: %s", res.ServerLog)
	assert.True(t, res.Settled, "server did not settle: %+v", res.Samples[len(res.Samples)-1])
	assert.Zero(t, res.OpenSpillFiles)
	small, _ := res.Kind(Small)
	assert.Positive(t, small.Served)
	assert.Nil(t, res.Drain, "no drain after an interrupt")
}
