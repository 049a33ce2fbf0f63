package parser_test

import (
	"errors"
	"fmt"

	"github.com/carhop/carhop/parser"
)

// A connection's bytes arrive in arbitrary pieces; the parser is fed each
// piece and reports the requests in it. Here two pipelined requests arrive
// split in the middle of the second one's body.
func ExampleParser() {
	pieces := []string{
		"GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\nPOST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\n\r\nhello",
		" world",
	}
	p := parser.New(parser.Limits{})
	var pending []byte
	for _, piece := range pieces {
		pending = append(pending, piece...)
		for {
			n, ev, err := p.Parse(pending)
			pending = pending[n:]
			if err != nil {
				fmt.Println("refuse with", err)
				return
			}
			switch ev {
			case parser.EventHead:
				r := p.Request()
				fmt.Printf("%s %s %s host=%s keep-alive=%v\n", r.Method, r.Target, r.Proto(), r.Host, r.KeepAlive)
			case parser.EventBody:
				fmt.Printf("  body %q\n", p.Body())
			case parser.EventDone:
				fmt.Println("  done")
			}
			if ev == parser.EventNeedMore {
				break
			}
		}
	}
	// Output:
	// GET /hello HTTP/1.1 host=example.com keep-alive=true
	//   done
	// POST /echo HTTP/1.1 host=example.com keep-alive=true
	//   body "hello"
	//   body " world"
	//   done
}

// Errors carry the status to answer with.
func ExampleError() {
	p := parser.New(parser.Limits{})
	_, _, err := p.Parse([]byte("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"))
	var perr *parser.Error
	if errors.As(err, &perr) {
		fmt.Println(perr.Status, perr.Reason)
	}
	// Output: 501 unsupported transfer coding
}

func ExampleParseContentLength() {
	for _, v := range []string{"42", "+42", "4 2"} {
		n, ok := parser.ParseContentLength([]byte(v))
		fmt.Println(v, n, ok)
	}
	// Output:
	// 42 42 true
	// +42 0 false
	// 4 2 0 false
}
