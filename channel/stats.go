package channel

import "sync/atomic"

// Counters are a server's traffic counters, shared by all its channels and
// its event loop. Every field is updated atomically where the event
// happens, so reading them never stops the server; a snapshot taken while
// requests run is consistent per field, not across fields.
type Counters struct {
	BytesIn        atomic.Uint64 // request bytes consumed from sockets
	BytesOut       atomic.Uint64 // response bytes handed to sockets
	Requests       atomic.Uint64 // complete requests handed to Config.Serve
	SpilledBodies  atomic.Uint64 // request bodies that went to a temporary file
	SpilledOutputs atomic.Uint64 // responses whose output went to a temporary file
	FilesSent      atomic.Uint64 // file ranges queued to go from the file (WriteFile)
	Hijacked       atomic.Uint64 // connections handed over to a handler
	InputEnded     atomic.Uint64 // connections whose client's input ended while responses were owed, answered after it (Outlive)
	CutOff         atomic.Uint64 // connections closed for leaving more input unread than they may (Config.MaxUnparsed, Config.Memory)

	refused [200]atomic.Uint64 // by status, 400-599
}

// Refuse counts a request or connection refused with status (4xx or 5xx).
func (c *Counters) Refuse(status int) {
	if c != nil && status >= 400 && status < 600 {
		c.refused[status-400].Add(1)
	}
}

// Refused returns the refusals counted so far by status; statuses never
// used are absent.
func (c *Counters) Refused() map[int]uint64 {
	m := make(map[int]uint64)
	for i := range c.refused {
		if n := c.refused[i].Load(); n > 0 {
			m[400+i] = n
		}
	}
	return m
}
