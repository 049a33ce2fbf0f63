// Package loop runs carhop's event loops on gnet: it accepts connections,
// moves bytes between sockets and channels, enforces the connection limit,
// and runs the timers (idle, request and write timeouts, output polling)
// that gnet does not.
//
// Ownership: gnet's event-loop goroutines call OnOpen, OnTraffic and
// OnClose; they alone read and write sockets and gnet's buffers, and they
// drive each connection's channel ([channel.Channel.Received] and
// [channel.Channel.Pump]). gnet's ticker goroutine runs OnTick, which only
// uses goroutine-safe calls (Wake, Close). The package runs no application
// code and knows nothing of HTTP beyond the fixed 503 it sends when full.
//
// gnet binds only the addresses it is given as strings. Listeners it
// cannot bind (Unix sockets, inherited and systemd sockets, listeners the
// application made, every socket under graceful restart) are adopted:
// the intake accepts on them in a goroutine per listener and hands each
// connection to a loop with Engine.Register, which dups it there; OnOpen
// then treats it like any other. The intake never touches a connection
// after the handover.
//
// gnet closes a connection when it reads EOF. A channel that still owes
// responses then (its client half-closed after sending its requests) is
// handed to an orphan (orphan.go): a goroutine with a duplicate of the
// socket that plays the loop for that channel until it has answered.
//
// gnet's own Stop closes every connection at once, so [Server.Drain]
// builds the graceful part: stop the intake (closing adopted listeners),
// refuse what still reaches gnet's own listeners, let every channel
// finish what it has, close the idle ones (giving a connection that has
// sent nothing yet a few seconds for its first request), and only then
// stop the engine (drain.go).
//
// Files: server.go the engine and gnet's events; loops.go how many
// loops; poll.go the ticker and the output polls; doze.go the ticker's
// sleep on a quiet server; drain.go Drain, the registry sweep and Stop;
// intake.go adopted listeners; orphan.go half-closed clients; refuse.go
// the 503 at the connection limit; conn.go the link between a channel
// and gnet's Conn; fresh.go connections yet to send a byte; site.go the
// local address a client reached; yield.go the loop's yield to a worker;
// writev.go two slices in one write; log.go gnet's logger.
package loop
