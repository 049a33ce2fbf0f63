package parser

import "bytes"

// parseHead reads request-head lines until the empty line that ends the
// head. Each line is validated as soon as it is complete, so every byte is
// looked at a bounded number of times however the input is split.
func (p *Parser) parseHead(in []byte) (int, Event, *Error) {
	n := 0
	for n < len(in) {
		k, complete, over := takeLine(&p.head, in[n:], p.lim.MaxHeaderBytes)
		n += k
		if !p.sawLine {
			// The request line is over its limit once its content is,
			// whether or not its CRLF has arrived: a partial line may
			// still end in the CR of its CRLF, a complete one holds both.
			max := p.lim.MaxRequestLine + 1
			if complete {
				max++
			}
			if over || len(p.head) > max {
				return n, EventError, ErrLineTooLong
			}
		}
		if over {
			return n, EventError, ErrHeadTooLarge
		}
		if !complete {
			return n, EventNeedMore, nil
		}
		line, err := lineContent(p.head, p.lineStart)
		if err != nil {
			return n, EventError, err
		}
		switch {
		case !p.sawLine && len(line) == 0:
			// RFC 9112 §2.2: empty lines before the request line are
			// ignored, within the request-line budget.
			p.leading += 2
			if p.leading > p.lim.MaxRequestLine {
				return n, EventError, ErrEmptyLines
			}
			p.head = p.head[:0]
			continue
		case !p.sawLine:
			err = p.requestLine(line)
			p.sawLine = true
		case len(line) == 0:
			return n, EventHead, p.endHead()
		default:
			err = p.fieldLine(line, p.lineStart)
		}
		if err != nil {
			return n, EventError, err
		}
		p.lineStart = len(p.head)
	}
	return n, EventNeedMore, nil
}

// requestLine parses method SP request-target SP HTTP-version, with exactly
// one SP between the parts (RFC 9112 §3). The line starts at offset 0 of
// p.head.
func (p *Parser) requestLine(line []byte) *Error {
	m := 0
	for m < len(line) && isTchar(line[m]) {
		m++
	}
	if m == 0 || m == len(line) || line[m] != ' ' {
		return badByte(line, m, ErrMethod)
	}
	t0 := m + 1
	t := t0
	for t < len(line) {
		c := line[t]
		if class[c]&cTarget == 0 {
			break
		}
		if c == '%' && (t+2 >= len(line) || class[line[t+1]]&cHex == 0 || class[line[t+2]]&cHex == 0) {
			return ErrTarget
		}
		t++
	}
	if t == t0 || t == len(line) || line[t] != ' ' {
		return badByte(line, t, ErrTarget)
	}
	if err := p.version(line[t+1:]); err != nil {
		return err
	}
	// Offsets, not slices: p.head may move while the fields arrive.
	p.method, p.target = [2]int32{0, int32(m)}, [2]int32{int32(t0), int32(t)}
	if p.req.ProtoMajor == 2 {
		return p.preface(line[:m], line[t0:t])
	}
	return p.targetForm(line[:m], line[t0:t])
}

// preface takes the one HTTP/2.0 request line an HTTP/1 server accepts:
// "PRI * HTTP/2.0", which opens the HTTP/2 connection preface (RFC 9113
// §3.4) of a client that knows the server speaks HTTP/2 over cleartext
// (h2c). As net/http, the server passes it to the handler, which may
// hijack the connection and serve HTTP/2 on it (golang.org/x/net's h2c
// does); the rest of the preface and the frames that follow are not
// HTTP/1, so the request fences the input as an Upgrade does, and the
// connection closes after it. Any other HTTP/2.0 request gets 505.
func (p *Parser) preface(method, t []byte) *Error {
	if string(method) != "PRI" || string(t) != "*" {
		return ErrHTTPVersion
	}
	p.req.Form, p.req.Upgrade = AsteriskForm, true
	return nil
}

// badByte returns ErrBareCR when the byte at i is a CR, so that the error
// names the real offence, and otherwise err.
func badByte(line []byte, i int, err *Error) *Error {
	if i >= 0 && i < len(line) && line[i] == '\r' {
		return ErrBareCR
	}
	return err
}

// version parses "HTTP/" DIGIT "." DIGIT. A well-formed version other than
// 1.0 or 1.1 gets 505 (2.0 only with the HTTP/2 preface: see preface);
// anything else is garbage and gets 400.
func (p *Parser) version(v []byte) *Error {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		v[5]-'0' > 9 || v[7]-'0' > 9 {
		return badByte(v, len(v)-1, ErrVersion)
	}
	major, minor := int(v[5]-'0'), int(v[7]-'0')
	if (major != 1 || minor > 1) && (major != 2 || minor != 0) {
		return ErrHTTPVersion
	}
	p.req.ProtoMajor, p.req.ProtoMinor = major, minor
	return nil
}

// targetForm classifies the request-target. CONNECT takes the authority
// form (a tunnel to host:port) or, as Go's net/rpc sends it, an origin
// form; the authority form belongs to CONNECT alone (RFC 9112 §3.2.3).
// Either way what follows a CONNECT on the connection may not be HTTP,
// so it fences the input as an Upgrade does.
func (p *Parser) targetForm(method, t []byte) *Error {
	if string(method) == "CONNECT" {
		p.req.Upgrade = true
		switch {
		case t[0] == '/':
			p.req.Form = OriginForm
		case authority(t):
			p.req.Form = AuthorityForm
		default:
			return ErrTarget
		}
		return nil
	}
	switch {
	case t[0] == '/':
		p.req.Form = OriginForm
	case len(t) == 1 && t[0] == '*':
		if string(method) != "OPTIONS" {
			return ErrTarget
		}
		p.req.Form = AsteriskForm
	default:
		// absolute-URI with an authority, scheme "://" ..., scheme =
		// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1). An
		// origin server has no use for targets without an authority
		// ("urn:x"), and "host:port" would otherwise pass as one.
		if lower(t[0])-'a' > 25 {
			return ErrTarget
		}
		i := 1
		for i < len(t) && class[t[i]]&cSchemeTail != 0 {
			i++
		}
		if len(t)-i < 4 || string(t[i:i+3]) != "://" {
			return ErrTarget
		}
		p.req.Form = AbsoluteForm
	}
	return nil
}

// authority reports whether t is an authority-form target, uri-host ":"
// port (RFC 9112 §3.2.3): no userinfo, no path, a host of Host-field bytes
// (an IPv6 address in brackets, or a reg-name or IPv4 address without
// brackets, colons or percent-encoding, which url.Parse refuses for ASCII)
// and a port of one to five digits up to 65535. A tunnel to an empty host
// or port 0 goes nowhere; refusing it here spares every handler the check.
func authority(t []byte) bool {
	c := bytes.LastIndexByte(t, ':')
	if c <= 0 || len(t)-c-1 < 1 || len(t)-c-1 > 5 {
		return false
	}
	port := 0
	for _, d := range t[c+1:] {
		if d < '0' || d > '9' {
			return false
		}
		port = port*10 + int(d-'0')
	}
	if port == 0 || port > 65535 {
		return false
	}
	host := t[:c]
	if host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return false
		}
		return ipv6(host[1 : len(host)-1])
	}
	for _, b := range host {
		if class[b]&cHost == 0 || b == ':' || b == '[' || b == ']' || b == '%' {
			return false
		}
	}
	return true
}

// fieldLine parses one field line, name ":" OWS value OWS (RFC 9112 §5),
// found at offset base of p.head.
func (p *Parser) fieldLine(line []byte, base int) *Error {
	if len(p.fields) == p.lim.MaxHeaders {
		return ErrTooManyFields
	}
	s, err := parseField(line, base)
	if err != nil {
		return err
	}
	p.fields = append(p.fields, s)
	return p.framingField(p.head[s.name0:s.name1], p.head[s.val0:s.val1], s)
}

// parseField validates a field line and locates its name and value,
// offsets counted from base. A line starting with whitespace is an obs-fold
// continuation (or, first of all, an attempt to hide a field): 400.
func parseField(line []byte, base int) (span, *Error) {
	k := 0
	for k < len(line) && isTchar(line[k]) {
		k++
	}
	if k == 0 {
		if line[0] == ' ' || line[0] == '\t' {
			return span{}, ErrObsFold
		}
		return span{}, badByte(line, 0, ErrFieldName)
	}
	if k == len(line) || line[k] != ':' {
		// Whitespace between name and colon is forbidden (RFC 9112 §5.1).
		return span{}, badByte(line, k, ErrFieldName)
	}
	v0 := k + 1
	for v0 < len(line) && (line[v0] == ' ' || line[v0] == '\t') {
		v0++
	}
	v1 := v0
	for i := v0; i < len(line); i++ {
		c := line[i]
		if class[c]&cFieldVal == 0 {
			return span{}, badByte(line, i, ErrFieldValue)
		}
		if c != ' ' && c != '\t' {
			v1 = i + 1
		}
	}
	b := int32(base)
	return span{name0: b, name1: b + int32(k), val0: b + int32(v0), val1: b + int32(v1)}, nil
}

// framingField records what a header field means for framing, persistence
// and expectations. Everything else is the adapter's business.
func (p *Parser) framingField(name, value []byte, at span) *Error {
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			if p.req.HasHost {
				return ErrDuplicateHost
			}
			for _, c := range value {
				if class[c]&cHost == 0 {
					return ErrInvalidHost
				}
			}
			p.host, p.req.HasHost = [2]int32{at.val0, at.val1}, true
		}
	case 7:
		if equalFold(name, "upgrade") {
			p.req.Upgrade = true
		}
	case 6:
		if equalFold(name, "expect") {
			if equalFold(value, "100-continue") {
				p.req.ExpectContinue = true
			} else {
				p.expect = true
			}
		}
	case 10:
		if equalFold(name, "connection") {
			p.connectionTokens(value)
		}
	case 14:
		if equalFold(name, "content-length") {
			n, ok := ParseContentLength(value)
			if !ok {
				return ErrContentLength
			}
			if p.hasLength && n != p.req.ContentLength {
				return ErrConflictingLength
			}
			p.req.ContentLength, p.hasLength = n, true
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			return p.codings.add(value)
		}
	}
	return nil
}

// connectionTokens notes the close and keep-alive options of a Connection
// field; other options (e.g. upgrade) are left to the adapter.
func (p *Parser) connectionTokens(v []byte) {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		switch tok := trimOWS(v[:i]); {
		case equalFold(tok, "close"):
			p.connClose = true
		case equalFold(tok, "keep-alive"):
			p.connKeep = true
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
}

// endHead applies the rules that need the whole head, then fills in the
// Request views and chooses the body state.
func (p *Parser) endHead() *Error {
	r := &p.req
	http11 := r.ProtoMinor == 1
	if http11 && !r.HasHost && r.Form != AuthorityForm {
		// A CONNECT's target names its host; net/http does not ask
		// for Host there either.
		return ErrMissingHost
	}
	if (p.codings.Present || r.ContentLength > 0) && string(p.head[p.method[0]:p.method[1]]) == "CONNECT" {
		// A CONNECT has no content (RFC 9110 §9.3.6): what follows its
		// head is the tunnel's. A framed body would have a proxy in
		// front and this server disagree on where the tunnel begins.
		return ErrConnectContent
	}
	if r.ProtoMajor == 2 && len(p.fields) > 0 {
		// The HTTP/2 preface's request line is followed by an empty
		// line and "SM": a field here (Host, a framing field for a body
		// that would blur where HTTP/2 begins) is no preface. Without
		// fields it is read as HTTP/1.0 is, so it is never KeepAlive.
		return ErrPreface
	}
	if p.codings.Present {
		switch {
		case !http11:
			// An HTTP/1.0 recipient may not know chunked; a smuggler
			// counts on that (RFC 9112 §6.1).
			return ErrTEInHTTP10
		case p.hasLength:
			// RFC 9112 §6.1 lets a server reject this outright; we do,
			// rather than guess which framing an upstream proxy used.
			return ErrChunkedWithLength
		}
		if err := p.codings.check(); err != nil {
			return err
		}
	}
	if http11 && p.expect {
		return ErrExpectation
	}
	if !http11 {
		r.ExpectContinue = false
	}
	if r.ContentLength > p.lim.MaxBodyBytes {
		return ErrBodyTooLarge
	}
	r.KeepAlive = !p.connClose && (http11 || p.connKeep)
	r.Head = p.head
	r.Method, r.Target = p.head[p.method[0]:p.method[1]], p.head[p.target[0]:p.target[1]]
	if r.HasHost {
		r.Host = p.head[p.host[0]:p.host[1]]
	}
	for _, s := range p.fields {
		r.Headers = append(r.Headers, Header{Name: p.head[s.name0:s.name1], Value: p.head[s.val0:s.val1]})
	}
	switch {
	case p.codings.Present:
		r.Chunked, r.ContentLength = true, -1
		p.state = stChunkSize
	case r.ContentLength > 0:
		p.remaining = r.ContentLength
		p.state = stBody
	default:
		p.state = stComplete
	}
	return nil
}
