package adapter

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/net/http/httpguts"
)

// extraFields are the header fields the server adds to a response, but
// Connection.
type extraFields struct {
	date, server, contentType string
	contentLength             int64
	chunked                   bool
}

func (e *extraFields) write(b *bytebufferpool.ByteBuffer) {
	add := func(name, value string) {
		if value != "" {
			b.B = append(b.B, name...)
			b.B = append(b.B, value...)
			b.B = append(b.B, "\r\n"...)
		}
	}
	add("Content-Type: ", e.contentType)
	add("Date: ", e.date)
	add("Server: ", e.server)
	if e.contentLength >= 0 {
		b.B = append(b.B, "Content-Length: "...)
		b.B = strconv.AppendInt(b.B, e.contentLength, 10)
		b.B = append(b.B, "\r\n"...)
	}
	if e.chunked {
		b.B = append(b.B, "Transfer-Encoding: chunked\r\n"...)
	}
}

func writeStatusLine(b *bytebufferpool.ByteBuffer, is11 bool, code int) {
	if is11 {
		b.B = append(b.B, "HTTP/1.1 "...)
	} else {
		b.B = append(b.B, "HTTP/1.0 "...)
	}
	b.B = strconv.AppendInt(b.B, int64(code), 10)
	b.B = append(b.B, ' ')
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	b.B = append(b.B, text...)
	b.B = append(b.B, "\r\n"...)
}

// omitted are the fields of the handler's header writeFields leaves out:
// framing, which is the server's, and what a status may not carry.
type omitted uint8

const (
	omitTransferEncoding omitted = 1 << iota
	omitConnection
	omitContentLength
	omitContentType
)

// writeFields writes the header fields in sorted order, as net/http does,
// skipping those under http.TrailerPrefix, the framing fields in omit and
// invalid names, and turning CR or LF inside values into spaces so that no
// handler can split a response. A declared trailer already set goes out
// in the head too, as with net/http: its value at the end is the trailer.
// It reports whether any field was under http.TrailerPrefix.
func writeFields(b *bytebufferpool.ByteBuffer, h http.Header, omit omitted) (prefixed bool) {
	var stack [16]string
	keys := stack[:0]
	for k := range h {
		switch {
		case strings.HasPrefix(k, http.TrailerPrefix):
			prefixed = true
			continue
		case k == "Transfer-Encoding" && omit&omitTransferEncoding != 0,
			k == "Connection" && omit&omitConnection != 0,
			k == "Content-Length" && omit&omitContentLength != 0,
			k == "Content-Type" && omit&omitContentType != 0:
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		writeField(b, k, h[k])
	}
	return prefixed
}

func writeTrailers(b *bytebufferpool.ByteBuffer, h http.Header, declared []string) {
	for _, k := range declared {
		ck := http.CanonicalHeaderKey(k)
		writeField(b, ck, h[ck])
	}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			writeField(b, name, vs)
		}
	}
}

func writeField(b *bytebufferpool.ByteBuffer, k string, vs []string) {
	if !httpguts.ValidHeaderFieldName(k) {
		return
	}
	for _, v := range vs {
		b.B = append(b.B, k...)
		b.B = append(b.B, ": "...)
		start := len(b.B)
		b.B = append(b.B, v...)
		if strings.ContainsAny(v, "\r\n") {
			for i, c := range b.B[start:] {
				if c == '\r' || c == '\n' {
					b.B[start+i] = ' '
				}
			}
		}
		b.B = append(b.B, "\r\n"...)
	}
}
