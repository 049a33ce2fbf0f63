// Package listen opens the listening sockets carhop serves on: it parses
// listen specs ("host:port", "[::1]:port", "unix:/path", "fd:3",
// "systemd"), creates TCP listeners (IPv4, IPv6-only for IPv6 literals,
// optional SO_REUSEPORT), creates Unix domain sockets with permissions and
// safe handling of stale socket files, and adopts sockets a parent process
// left open by descriptor number or passed by systemd socket activation
// (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES).
//
// Ownership: every net.Listener it returns belongs to the caller, who
// closes it. The package accepts no connection (loop/ does), passes no
// socket to another process (the adapter's graceful restart does, with
// tableflip) and knows nothing of HTTP. Systemd's descriptors are taken
// once per process, the first time they are asked for, and the LISTEN_*
// variables are then removed from the environment so that no child
// process mistakes them for its own.
package listen
