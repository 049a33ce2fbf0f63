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
// gnet's own Stop closes every connection at once, so [Server.Drain]
// builds the graceful part: refuse new connections, let every channel
// finish what it has, close the idle ones, and only then stop the engine.
package loop
