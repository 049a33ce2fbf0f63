package baselines

import (
	"context"
	"net"
	"slices"
)

// A Design serves "Hello, World!" on ln until ctx ends, then stops and
// releases everything it started: children killed and reaped, goroutines
// ended, descriptors closed, ln included. It returns nil on a clean stop;
// otherwise the error that stopped it early or, for the process designs,
// the first child that failed along the way.
type Design func(ctx context.Context, ln *net.TCPListener) error

// Pool sizes the Designs map uses.
const (
	DefaultProcesses  = 4  // process-pool: a small prefork server
	DefaultGoroutines = 32 // goroutine-pool: a typical thread pool
	DefaultWorkers    = 4  // epoll-pool: Waitress's default threads
)

// Designs maps each baseline's name to its design with default sizes.
var Designs = map[string]Design{
	"sequential":         Sequential,
	"process-per-conn":   ProcessPerConn,
	"process-pool":       ProcessPool(DefaultProcesses),
	"goroutine-per-conn": GoroutinePerConn,
	"goroutine-pool":     GoroutinePool(DefaultGoroutines),
	"epoll":              Epoll,
	"epoll-pool":         EpollPool(DefaultWorkers),
}

// names is the study's order: from no concurrency, through processes and
// threads, to the event loop.
var names = []string{
	"sequential", "process-per-conn", "process-pool",
	"goroutine-per-conn", "goroutine-pool", "epoll", "epoll-pool",
}

// Names lists the designs in a stable order.
func Names() []string { return slices.Clone(names) }
