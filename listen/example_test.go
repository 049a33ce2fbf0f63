package listen_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/carhop/carhop/listen"
)

func ExampleParse() {
	for _, s := range []string{"0.0.0.0:8080", "[::]:8080", "unix:/run/carhop.sock", "fd:3", "systemd:web"} {
		sp, err := listen.Parse(s)
		if err != nil {
			panic(err)
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-22s %v %s", s, sp.Kind, sp.Network)))
	}
	// Output:
	// 0.0.0.0:8080           tcp tcp4
	// [::]:8080              tcp tcp6
	// unix:/run/carhop.sock  unix unix
	// fd:3                   fd
	// systemd:web            systemd
}

// A Unix socket with group access, for a proxy running in the socket's
// group; Close removes the file.
func ExampleConfig_ListenUnix() {
	dir, _ := os.MkdirTemp("", "listen-example-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.sock")
	ln, err := listen.Config{UnixPerms: 0o660}.ListenUnix(path)
	if err != nil {
		panic(err)
	}
	fi, _ := os.Stat(path)
	fmt.Println(fi.Mode().Type() == fs.ModeSocket, fi.Mode().Perm())
	_ = ln.Close()
	_, err = os.Stat(path)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output:
	// true -rw-rw----
	// true
}

// A listening socket a parent process passed as a descriptor (here made
// in-process) becomes a net.Listener; the descriptor itself is taken over.
func ExampleFileListener() {
	orig, _ := net.Listen("tcp", "127.0.0.1:0")
	defer orig.Close()
	f, _ := orig.(*net.TCPListener).File() // what the parent would pass, e.g. as fd 3
	ln, err := listen.FileListener(int(f.Fd()))
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	fmt.Println(ln.Addr().String() == orig.Addr().String())
	// Output:
	// true
}
