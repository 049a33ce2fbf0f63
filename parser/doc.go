// Package parser is carhop's HTTP/1.0 and HTTP/1.1 request parser.
//
// It owns the wire grammar of requests: where one request ends and the next
// begins (framing), which bytes are legal where, and the limits that bound
// the memory a single request may claim. Every byte a client sends passes
// through it before anything else in carhop looks at it, so it is strict by
// design: anything that two HTTP implementations could read in two ways is
// rejected, because that ambiguity is what request smuggling is made of.
//
// A [Parser] is incremental and is fed whatever bytes arrived, one byte at a
// time or many pipelined requests at once; splitting the input at any point
// gives exactly the same result as feeding it whole. It reports one [Event]
// per call: more bytes are needed, the request head is complete, body bytes,
// or the request is complete. Bad input is reported as an [*Error] carrying
// the HTTP status to answer with; after an error the parser refuses to parse
// anything else, so no second request can hide behind a rejected one.
//
// The parser copies the request head into a buffer of its own, reused from
// request to request, and hands body bytes back as sub-slices of the caller's
// input, so parsing a request allocates nothing once the parser is warm.
//
// Ownership: a Parser belongs to one connection and is used by one goroutine
// at a time (in carhop, the event loop that owns the connection). The package
// touches no sockets, files, clocks or goroutines; it does not buffer bodies
// (the channel does) and it does not interpret requests beyond what framing,
// connection persistence and Expect need (the adapter does). The framing
// helpers [ParseContentLength] and [ParseTransferEncoding] are the one
// authority on those fields, shared with the response writer.
//
// The rules, and why each was chosen, are listed in docs/parser.md.
package parser
