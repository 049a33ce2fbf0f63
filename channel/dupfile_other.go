//go:build !unix

package channel

import (
	"errors"
	"os"
	"syscall"
)

// dupFile is not done here: WriteFile reports false, and the bytes are
// written instead.
func dupFile(syscall.Conn) (*os.File, error) { return nil, errors.ErrUnsupported }
