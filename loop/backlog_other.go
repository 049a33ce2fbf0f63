//go:build !linux

package loop

// backlogged is backlog_linux.go's; elsewhere the socket is always
// offered what the file holds.
func backlogged(int) bool { return false }
