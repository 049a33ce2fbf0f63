package runner

import (
	"time"
)

// Scenario is one kind of measurement.
type Scenario struct {
	Name        string
	Description string
	// Conns and KeepAlive shape the load; Requests (0: use Duration) and
	// Duration bound it.
	Conns     int
	KeepAlive bool
	Requests  int
	Duration  time.Duration
	// ScaleTo, when set, raises Requests so that a run lasts about this
	// long at the rate the warm-up showed: 2,000 requests take a few
	// milliseconds on a fast server, which measures nothing.
	ScaleTo time.Duration
	// Idle is the number of idle keep-alive connections to hold (the
	// idle scenario); Slow the number of slowloris clients (the slow
	// scenario).
	Idle int
	Slow int
	// Readers is the number of slow readers (the slowread scenario): each
	// downloads bench/peers.Big at about 40 KB/s.
	Readers int
	// IdleWatch is how long the idle scenario reads the server's CPU
	// while it holds the connections: a server that wakes on a timer
	// pays for it idle.
	IdleWatch time.Duration
}

// Scenarios are the suite's scenarios, full size.
var Scenarios = []Scenario{
	{Name: "classic", Description: "the classic study: 2,000 requests over 50 concurrent keep-alive connections, scaled to last about 3 s",
		Conns: 50, KeepAlive: true, Requests: 2000, ScaleTo: 3 * time.Second},
	{Name: "keepalive", Description: "long throughput run: 50 keep-alive connections for 8 s",
		Conns: 50, KeepAlive: true, Duration: 8 * time.Second},
	{Name: "c1000", Description: "1,000 keep-alive connections for 5 s",
		Conns: 1000, KeepAlive: true, Duration: 5 * time.Second},
	{Name: "lone", Description: "one keep-alive client sending requests back to back for 4 s: the latency a request sees on a quiet server",
		Conns: 1, KeepAlive: true, Duration: 4 * time.Second},
	{Name: "noreuse", Description: "a new connection per request (Connection: close), 50 at a time, 3 s",
		Conns: 50, KeepAlive: false, Duration: 3 * time.Second},
	{Name: "idle", Description: "10,000 idle keep-alive connections after one request each: server memory per connection, and CPU while they idle (5 s)",
		Idle: 10000, IdleWatch: 5 * time.Second},
	{Name: "slow", Description: "500 slowloris clients sending a header byte a second while 50 normal connections measure their latency for 3 s (and for 3 s before the attack)",
		Conns: 50, KeepAlive: true, Duration: 3 * time.Second, Slow: 500},
	// 40 readers: more than any worker pool here has workers (32
	// goroutines, 4 processes, Waitress's 4 threads, Gunicorn's one sync
	// worker), and with the 50 others fewer than Waitress's connection
	// limit of 100, which the slow scenario already measures.
	{Name: "slowread", Description: "40 clients each downloading a 1 MiB response at 40 KB/s (a 16 KiB receive buffer, a real network's 1,460-byte segments) while 50 normal connections measure their latency for 3 s (and for 3 s before the readers come)",
		Conns: 50, KeepAlive: true, Duration: 3 * time.Second, Readers: 40},
}

// quick shrinks a scenario to a seconds-long smoke run.
func (s Scenario) quick() Scenario {
	switch {
	case s.Idle > 0:
		s.Idle, s.IdleWatch = 100, 500*time.Millisecond
	case s.Slow > 0:
		s.Slow, s.Duration = 20, 500*time.Millisecond
	case s.Readers > 0:
		s.Readers, s.Duration = 20, 500*time.Millisecond
	case s.Requests > 0:
		s.Requests, s.ScaleTo = 300, 0
	default:
		s.Duration = 500 * time.Millisecond
		if s.Conns > 100 {
			s.Conns = 100
		}
	}
	return s
}

// scenario finds a scenario by name.
func scenario(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}
