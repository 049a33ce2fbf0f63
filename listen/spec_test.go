package listen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
	}{
		{"0.0.0.0:8080", Spec{Kind: TCP, Network: "tcp4", Address: "0.0.0.0:8080"}},
		{"127.0.0.1:0", Spec{Kind: TCP, Network: "tcp4", Address: "127.0.0.1:0"}},
		{"[::]:8080", Spec{Kind: TCP, Network: "tcp6", Address: "[::]:8080"}},
		{"[::1]:80", Spec{Kind: TCP, Network: "tcp6", Address: "[::1]:80"}},
		{":8080", Spec{Kind: TCP, Network: "tcp", Address: ":8080"}},
		{"localhost:8080", Spec{Kind: TCP, Network: "tcp", Address: "localhost:8080"}},
		{"unix:/run/carhop.sock", Spec{Kind: Unix, Network: "unix", Address: "/run/carhop.sock"}},
		{"unix:///run/carhop.sock", Spec{Kind: Unix, Network: "unix", Address: "/run/carhop.sock"}},
		{"unix:rel.sock", Spec{Kind: Unix, Network: "unix", Address: "rel.sock"}},
		{"unix:@abstract", Spec{Kind: Unix, Network: "unix", Address: "@abstract"}},
		{"unix:////x", Spec{Kind: Unix, Network: "unix", Address: "//x"}}, // String must keep the doubled slash (fuzz)
		{"fd:3", Spec{Kind: FD, FD: 3}},
		{"fd://4", Spec{Kind: FD, FD: 4}},
		{"systemd", Spec{Kind: Systemd}},
		{"systemd:web", Spec{Kind: Systemd, Address: "web"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			again, err := Parse(got.String())
			require.NoError(t, err, "String gives a parsable spec")
			assert.Equal(t, got, again)
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"", "8080", "localhost", "host:", "host:http", "host:65536", "host:-1", "host:08080",
		"[::1]", "::1:80", "bad host:80", "unix:", "unix:@", "unix://", "unix:/a\x00b",
		"fd:", "fd:x", "fd:-3", "fd:03", "fd:3x", "systemd:", "systemd:a:b",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := Parse(in)
			assert.Error(t, err)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0.0.0.0:8080", "[::1]:0", ":80", "unix:/x", "unix:@y", "fd:3", "systemd:web", "host:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(sp.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, sp.String(), err)
		}
		if again != sp {
			t.Fatalf("round trip of %q: %+v != %+v", s, again, sp)
		}
	})
}
