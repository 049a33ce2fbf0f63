package parser

import (
	"bytes"
	"math"
)

// This file is the one authority on message framing fields. The request
// parser uses it for Content-Length and Transfer-Encoding, and the response
// writer uses the same functions to vet what a handler set, so that the two
// can never disagree about where a message ends.

// ParseContentLength parses a Content-Length field value. Only a non-empty
// run of ASCII digits that fits an int64 is accepted: no sign, no inner or
// surrounding whitespace (strip OWS first), no list, no hex. Waitress
// accepted "+10" (CVE-2022-24761) and a folded "10, 10" (CVE-2019-16792);
// both are rejected here.
func ParseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		d := int64(c) - '0'
		if d < 0 || d > 9 {
			return 0, false
		}
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// TransferCodings accumulates the Transfer-Encoding field values of one
// message, in order, as RFC 9110 §5.3 combines repeated fields into a list.
// The zero value is an empty list.
type TransferCodings struct {
	// Present records that some Transfer-Encoding field was seen.
	Present bool
	// Chunked records that the chunked coding was listed.
	Chunked bool
	// LastChunked records that chunked is the final coding so far.
	LastChunked bool
	// Other records that a coding other than chunked was listed.
	Other bool
}

// Add appends the codings of one Transfer-Encoding field value (OWS already
// stripped). It fails with ErrTransferEncoding on anything but a
// comma-separated list of tokens with optional parameters: empty elements,
// stray characters, parameters on chunked, or chunked listed twice (which
// RFC 9112 §6.1 forbids a sender to do, and which only a smuggler sends).
func (t *TransferCodings) Add(v []byte) error {
	if err := t.add(v); err != nil {
		return err
	}
	return nil
}

func (t *TransferCodings) add(v []byte) *Error {
	t.Present = true
	for {
		var elem []byte
		i := bytes.IndexByte(v, ',')
		if i < 0 {
			elem, v = v, nil
		} else {
			elem, v = v[:i], v[i+1:]
		}
		if err := t.addCoding(trimOWS(elem)); err != nil {
			return err
		}
		if i < 0 {
			return nil
		}
	}
}

func (t *TransferCodings) addCoding(elem []byte) *Error {
	name, params := elem, []byte(nil)
	if i := bytes.IndexByte(elem, ';'); i >= 0 {
		name, params = trimOWS(elem[:i]), elem[i:]
	}
	if len(name) == 0 {
		return ErrTransferEncoding
	}
	for _, c := range name {
		if !isTchar(c) {
			return ErrTransferEncoding
		}
	}
	if equalFold(name, "chunked") {
		if t.Chunked || params != nil {
			return ErrTransferEncoding
		}
		t.Chunked, t.LastChunked = true, true
		return nil
	}
	t.Other, t.LastChunked = true, false
	return nil
}

// Check reports whether a request may be framed by these codings: only a
// single, final chunked is accepted. Any other coding gets 501 (we decode
// none), so that no coding is ever silently ignored (CVE-2019-16786).
func (t *TransferCodings) Check() error {
	if err := t.check(); err != nil {
		return err
	}
	return nil
}

func (t *TransferCodings) check() *Error {
	switch {
	case !t.Present:
		return nil
	case t.Other:
		return ErrUnsupportedCoding
	case !t.LastChunked:
		return ErrTransferEncoding
	}
	return nil
}
