package accesslog

import (
	"net"
	"net/http"
	"strconv"
	"time"
)

// clfTime is the layout of %t in Apache's Common Log Format.
const clfTime = "02/Jan/2006:15:04:05 -0700"

// stamp is a formatted request time, reused for every request in the same
// second.
type stamp struct {
	sec  int64
	text string
}

func (h *lineHandler) timestamp(t time.Time) string {
	sec := t.Unix()
	if s := h.lastTime.Load(); s != nil && s.sec == sec {
		return s.text
	}
	s := &stamp{sec: sec, text: t.Format(clfTime)}
	h.lastTime.Store(s)
	return s.text
}

// appendLine appends one Common or Combined Log Format line:
//
//	host ident authuser [time] "request line" status bytes ["referer" "user-agent"]
//
// ident and authuser are always "-": there is no identd, and the server
// does not know whether a handler accepted any credentials. Time is when
// the request started, as in Apache; bytes are the body bytes written, "-"
// for none.
func (h *lineHandler) appendLine(b []byte, rec *record, r *http.Request) []byte {
	b = appendField(b, remoteHost(r.RemoteAddr))
	b = append(b, " - - ["...)
	b = append(b, h.timestamp(rec.start)...)
	b = append(b, `] "`...)
	b = appendEscaped(b, r.Method)
	b = append(b, ' ')
	b = appendEscaped(b, target(r))
	b = append(b, ' ')
	b = appendEscaped(b, r.Proto)
	b = append(b, `" `...)
	b = strconv.AppendInt(b, int64(rec.w.status), 10)
	b = append(b, ' ')
	if rec.w.bytes > 0 {
		b = strconv.AppendInt(b, rec.w.bytes, 10)
	} else {
		b = append(b, '-')
	}
	if h.combined {
		b = append(b, ` "`...)
		b = appendEscapedOrDash(b, r.Header.Get("Referer"))
		b = append(b, `" "`...)
		b = appendEscapedOrDash(b, r.Header.Get("User-Agent"))
		b = append(b, '"')
	}
	return append(b, '\n')
}

// remoteHost is the address without the port, as %h logs it.
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// appendField appends an unquoted field: "-" when empty, escaped, and
// spaces escaped too so that the line still splits on them.
func appendField(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			b = appendHex(b, s[i])
		} else {
			b = appendByte(b, s[i])
		}
	}
	return b
}

func appendEscapedOrDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

// appendEscaped escapes as Apache's mod_log_config does: '"' and '\' get a
// backslash, control characters and bytes outside ASCII become \xhh, so
// that nothing a client sends can end a field or forge a line.
func appendEscaped(b []byte, s string) []byte {
	for {
		i := 0
		for i < len(s) && !needsEscape(s[i]) {
			i++
		}
		b = append(b, s[:i]...) // the common case: all of it at once
		if i == len(s) {
			return b
		}
		b = appendByte(b, s[i])
		s = s[i+1:]
	}
}

func needsEscape(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x7f }

func appendByte(b []byte, c byte) []byte {
	switch {
	case c == '"' || c == '\\':
		return append(b, '\\', c)
	case needsEscape(c):
		return appendHex(b, c)
	}
	return append(b, c)
}

func appendHex(b []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
}
