package task

import (
	"log/slog"
	"time"
)

// DefaultQueueWarnInterval is the shortest time between two "task queue
// depth" warnings unless [WithQueueWarnInterval] says otherwise. Waitress
// logs on every hand-off that finds no idle thread, which floods the log in
// exactly the overload it reports; once a second still shows the trend.
const DefaultQueueWarnInterval = time.Second

// An Option configures a [Pool]. Waitress's one setting for its dispatcher,
// threads, is New's argument; the options cover what Waitress hard-codes:
// where the pool logs, and how often the queue-depth warning may appear.
type Option func(*config)

type config struct {
	logger    *slog.Logger // nil means slog.Default() at the time of logging
	warnEvery time.Duration
}

func defaultConfig() config {
	return config{warnEvery: DefaultQueueWarnInterval}
}

// WithLogger sets the logger for recovered task panics (level Error), the
// queue-depth warning and dropped tasks (level Warn). Waitress splits these
// between its "waitress" and "waitress.queue" loggers; pass a logger made
// with [slog.Logger.With] to tag the records the same way. A nil logger, or
// no option, means [slog.Default] as it is when a record is written.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithQueueWarnInterval sets the shortest time between two "task queue
// depth" warnings; the default is [DefaultQueueWarnInterval]. Zero warns
// whenever a Submit leaves tasks waiting, as Waitress does, except that
// warnings raised while the previous one is still being written are merged
// into it. A negative interval turns the warning off.
func WithQueueWarnInterval(d time.Duration) Option {
	return func(c *config) { c.warnEvery = d }
}
