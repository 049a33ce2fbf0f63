package parser

import "math"

// parseChunked decodes a chunked body (RFC 9112 §7.1) and its trailer
// section. Every line of the framing must end in CRLF: a bare LF accepted
// here is how one parser's chunk becomes another's request.
func (p *Parser) parseChunked(in []byte) (int, Event, *Error) {
	n := 0
	for {
		switch p.state {
		case stChunkSize:
			max := p.lim.MaxChunkExtension + maxChunkSizeDigits + 2
			k, complete, over := takeLine(&p.line, in[n:], max)
			n += k
			if over {
				return n, EventError, ErrChunkLineTooLong
			}
			if !complete {
				return n, EventNeedMore, nil
			}
			size, err := chunkLine(p.line)
			p.line = p.line[:0]
			if err != nil {
				return n, EventError, err
			}
			if size == 0 {
				p.state, p.lineStart = stTrailer, 0
				continue
			}
			if size > p.lim.MaxBodyBytes-p.total {
				return n, EventError, ErrBodyTooLarge
			}
			p.remaining, p.state = size, stChunkData
		case stChunkData:
			if n == len(in) {
				return n, EventNeedMore, nil
			}
			k := len(in) - n
			if int64(k) > p.remaining {
				k = int(p.remaining)
			}
			p.body = in[n : n+k]
			p.remaining -= int64(k)
			p.total += int64(k)
			if p.remaining == 0 {
				p.state = stChunkCR
			}
			return n + k, EventBody, nil
		case stChunkCR, stChunkLF:
			if n == len(in) {
				return n, EventNeedMore, nil
			}
			want := byte('\r')
			if p.state == stChunkLF {
				want = '\n'
			}
			if in[n] != want {
				return n, EventError, ErrChunkEnd
			}
			n++
			if p.state == stChunkCR {
				p.state = stChunkLF
			} else {
				p.state = stChunkSize
			}
		case stTrailer:
			k, complete, over := takeLine(&p.trail, in[n:], p.lim.MaxTrailerBytes)
			n += k
			if over {
				return n, EventError, ErrTrailerTooLarge
			}
			if !complete {
				return n, EventNeedMore, nil
			}
			line, err := lineContent(p.trail, p.lineStart)
			if err == nil && len(line) == 0 {
				p.finishTrailers()
				p.state = stDone
				return n, EventDone, nil
			}
			if err == nil {
				err = p.trailerLine(line, p.lineStart)
			}
			if err != nil {
				return n, EventError, err
			}
			p.lineStart = len(p.trail)
		}
	}
}

// maxChunkSizeDigits is the most hex digits a chunk size that fits int64
// can have; leading zeros count against the extension budget.
const maxChunkSizeDigits = 16

// chunkLine parses chunk-size [ chunk-ext ] CRLF. The size is hex digits
// only: no "0x", no sign, no whitespace (CVE-2022-24761), and overflow is an
// error rather than a wrap-around.
func chunkLine(line []byte) (int64, *Error) {
	c, err := lineContent(line, 0)
	if err != nil {
		return 0, err
	}
	var size int64
	i := 0
	for ; i < len(c) && class[c[i]]&cHex != 0; i++ {
		if size > math.MaxInt64>>4 {
			return 0, ErrChunkSize
		}
		size = size<<4 | int64(unhex(c[i]))
	}
	if i == 0 {
		return 0, badByte(c, 0, ErrChunkSize)
	}
	if err := chunkExtensions(c[i:]); err != nil {
		return 0, err
	}
	return size, nil
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// chunkExtensions validates *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
// with ext-val a token or a quoted-string (RFC 9112 §7.1.1). Extensions
// carry no meaning for us and are dropped, but they must be well formed, or
// a peer that reads them differently finds a different body.
func chunkExtensions(b []byte) *Error {
	i := 0
	for i < len(b) {
		i = skipBWS(b, i)
		if i == len(b) || b[i] != ';' {
			return badByte(b, i, ErrChunkExt)
		}
		i = skipBWS(b, i+1)
		j := skipToken(b, i)
		if j == i {
			return badByte(b, i, ErrChunkExt)
		}
		// Without "=" the next extension begins; the loop's head then
		// requires its ";", so trailing whitespace is refused there too.
		if i = skipBWS(b, j); i == len(b) || b[i] != '=' {
			i = j
			continue
		}
		i = skipBWS(b, i+1)
		if i < len(b) && b[i] == '"' {
			j = skipQuoted(b, i)
		} else {
			j = skipToken(b, i)
		}
		if j <= i {
			return badByte(b, i, ErrChunkExt)
		}
		i = j
	}
	return nil
}

func skipBWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

func skipToken(b []byte, i int) int {
	for i < len(b) && isTchar(b[i]) {
		i++
	}
	return i
}

// skipQuoted returns the index after the quoted-string starting at b[i],
// or -1 when it is not one: qdtext is HTAB, SP, VCHAR but '"' and '\', or
// obs-text; quoted-pair is '\' and one of those or '"' or '\'.
func skipQuoted(b []byte, i int) int {
	for i++; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i == len(b) || class[b[i]]&cFieldVal == 0 {
				return -1
			}
		case class[c]&cFieldVal == 0:
			return -1
		}
	}
	return -1
}

// trailerLine parses one trailer field with the header-field rules. Fields
// that would change framing or routing if merged into the header section
// are refused outright.
func (p *Parser) trailerLine(line []byte, base int) *Error {
	if len(p.tfields) == p.lim.MaxHeaders {
		return ErrTrailerTooLarge
	}
	s, err := parseField(line, base)
	if err != nil {
		return err
	}
	name := p.trail[s.name0:s.name1]
	if equalFold(name, "content-length") || equalFold(name, "transfer-encoding") ||
		equalFold(name, "host") || equalFold(name, "trailer") {
		return ErrTrailerField
	}
	p.tfields = append(p.tfields, s)
	return nil
}

func (p *Parser) finishTrailers() {
	for _, s := range p.tfields {
		p.req.Trailers = append(p.req.Trailers, Header{Name: p.trail[s.name0:s.name1], Value: p.trail[s.val0:s.val1]})
	}
}
