package accesslog

import (
	"fmt"
	"strings"
)

// Format is the shape of an access log record.
type Format int

const (
	// Common is the Common Log Format:
	//	192.0.2.1 - - [26/Nov/2026:04:13:12 +0000] "GET /x HTTP/1.1" 200 512
	Common Format = iota + 1
	// Combined is the Combined Log Format: Common plus the quoted Referer
	// and User-Agent.
	Combined
	// JSON is one JSON object per line, written by slog's JSON handler:
	// time, level, msg ("request"), remote, method, target, proto, status,
	// bytes, duration (nanoseconds), referer, user_agent, and hijacked
	// when true.
	JSON
)

// String returns the name ParseFormat accepts.
func (f Format) String() string {
	switch f {
	case Common:
		return "common"
	case Combined:
		return "combined"
	case JSON:
		return "json"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses "common", "combined" or "json" (any case), for
// configuration files and flags.
func ParseFormat(s string) (Format, error) {
	for _, f := range []Format{Common, Combined, JSON} {
		if strings.EqualFold(s, f.String()) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("accesslog: unknown format %q (want common, combined or json)", s)
}

func (f Format) valid() bool { return f >= Common && f <= JSON }
