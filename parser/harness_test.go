package parser

import (
	"fmt"
	"strings"
)

// parsed is everything a parser reported for one request, in a form that
// compares with testify and survives the parser moving on.
type parsed struct {
	Method, Target string
	Form           TargetForm
	Proto          string
	Headers        []string // "Name: value"
	Trailers       []string
	Host           string
	HasHost        bool
	ContentLength  int64
	Chunked        bool
	KeepAlive      bool
	Continue       bool
	Upgrade        bool
	Body           string
}

// transcript is what feeding a whole input produced: the complete requests,
// the error that stopped parsing (if any), and how many bytes were left
// unconsumed when parsing ended without an error.
type transcript struct {
	Requests []parsed
	Err      error
	Rest     int
}

// feed runs the parser over input delivered in the pieces given by cuts
// (ascending offsets into input), looping as a connection would: consume,
// and on EventNeedMore wait for the next piece. A partial request in
// progress when the input ends is dropped; Rest counts its bytes plus any
// not consumed.
func feed(lim Limits, input string, cuts ...int) transcript {
	p := New(lim)
	var tr transcript
	var cur *parsed
	var body strings.Builder
	pending := []byte(nil) // bytes received but not consumed
	prev := 0
	pieces := append(append([]int(nil), cuts...), len(input))
	for _, c := range pieces {
		pending = append(pending, input[prev:c]...)
		prev = c
		for steps := 0; ; steps++ {
			if steps > 10*len(input)+10 {
				panic("parser made no progress")
			}
			n, ev, err := p.Parse(pending)
			if n < 0 || n > len(pending) {
				panic(fmt.Sprintf("consumed %d of %d", n, len(pending)))
			}
			pending = pending[n:]
			switch ev {
			case EventNeedMore:
				if len(pending) != 0 {
					panic("EventNeedMore with unconsumed input")
				}
			case EventHead:
				cur = snapshot(p.Request())
				body.Reset()
			case EventBody:
				body.Write(p.Body())
			case EventDone:
				cur.Body = body.String()
				cur.Trailers = fields(p.Request().Trailers)
				tr.Requests = append(tr.Requests, *cur)
				cur = nil
			case EventError:
				// Where in the input a limit trips depends on how the
				// input was split; what is left is never parsed anyway.
				tr.Err = err
				return tr
			}
			if ev == EventNeedMore {
				break
			}
		}
	}
	tr.Rest = len(pending)
	if cur != nil {
		tr.Rest = -1 // a request was still in progress
	}
	return tr
}

func snapshot(r *Request) *parsed {
	return &parsed{
		Method: string(r.Method), Target: string(r.Target), Form: r.Form, Proto: r.Proto(),
		Headers: fields(r.Headers), Host: string(r.Host), HasHost: r.HasHost,
		ContentLength: r.ContentLength, Chunked: r.Chunked, KeepAlive: r.KeepAlive,
		Continue: r.ExpectContinue, Upgrade: r.Upgrade,
	}
}

func fields(hs []Header) []string {
	var out []string
	for _, h := range hs {
		out = append(out, string(h.Name)+": "+string(h.Value))
	}
	return out
}

// crlf turns the readable "\n" line ends of test inputs into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
