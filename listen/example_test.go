package listen_test

import (
	"fmt"
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
