package parser

// Byte classes, as lookup tables so that every validation is one load per
// byte: linear in the input, no backtracking, no branches on character
// ranges in the hot loops.
const (
	cTchar      = 1 << iota // RFC 9110 §5.6.2 token characters
	cFieldVal               // field-vchar / obs-text / SP / HTAB (RFC 9110 §5.5)
	cTarget                 // bytes allowed in a request-target: VCHAR except '#'
	cHex                    // hexadecimal digit
	cSchemeTail             // ALPHA / DIGIT / "+" / "-" / "." (RFC 3986 scheme)
	cHost                   // bytes allowed in a Host field value
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] |= cHex | cSchemeTail
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= cSchemeTail
		t[c-'a'+'A'] |= cSchemeTail
	}
	for _, c := range "abcdefABCDEF" {
		t[c] |= cHex
	}
	for _, c := range "+-." {
		t[c] |= cSchemeTail
	}
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] |= cTchar
		}
		if c >= 0x21 && c <= 0x7e && c != '#' {
			t[c] |= cTarget
		}
		if (c >= 0x20 && c != 0x7f) || c == '\t' {
			t[c] |= cFieldVal
		}
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] |= cTchar
	}
	// Host: reg-name, IP-literal and port characters (RFC 3986 §3.2.2) plus
	// the few that net/http also tolerates in the wild.
	for c := 0; c < 256; c++ {
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			t[c] |= cHost
		}
	}
	for _, c := range "-._~!$&'()*+,;=:[]%" {
		t[c] |= cHost
	}
	return t
}()

func isTchar(c byte) bool { return class[c]&cTchar != 0 }

// lower returns c in lower case when it is an ASCII letter.
func lower(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether b equals s, ignoring ASCII case. Header names
// are ASCII tokens, so this is all the case folding they need.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// trimOWS removes optional whitespace (SP and HTAB only, RFC 9110 §5.6.3)
// from both ends. Other whitespace such as VT or FF is not OWS: treating it
// as such was CVE-2019-16789 in Waitress.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
