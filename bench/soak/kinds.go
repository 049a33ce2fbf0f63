package soak

import "time"

// Kind is one kind of traffic.
type Kind string

// The kinds of traffic, each driven by its own workers.
const (
	Small       Kind = "small"        // GET of a few bytes on a kept-alive connection
	Upload      Kind = "upload"       // POST of uploadBytes, hashed by the handler
	Download    Kind = "download"     // GET of downloadBytes, every byte checked
	Stream      Kind = "stream"       // chunked response flushed chunk by chunk with pauses
	Subscriber  Kind = "subscriber"   // an event stream held for a second, more of them than threads
	SlowHandler Kind = "slow-handler" // the handler sleeps before answering
	Pipelined   Kind = "pipelined"    // pipelineDepth requests in one write, answers in order
	Greedy      Kind = "greedy"       // large heads pipelined behind a slow request: answered in order, or cut off past the memory budget
	HalfClosed  Kind = "half-closed"  // requests, then shutdown(SHUT_WR): every answer, then end of file
	SlowClient  Kind = "slow-client"  // head dribbled a byte at a time, response read slowly: served
	Slowloris   Kind = "slowloris"    // head that never ends: cut by the request timeout
	Bad         Kind = "bad"          // malformed requests: refused with an exact status and a close
	Upgrade     Kind = "upgrade"      // an upgrade the handler hijacks, then a line echo over the raw connection
	Continue    Kind = "continue"     // Expect: 100-continue uploads, chunked with trailers, or refused with 413 unsent
	Abort       Kind = "abort"        // a client that leaves mid-response: the handler's context must end
)

// Kinds lists every kind in report order.
var Kinds = []Kind{Small, Upload, Continue, Download, Stream, Subscriber, SlowHandler, Pipelined, Greedy, HalfClosed,
	SlowClient, Slowloris, Upgrade, Abort, Bad}

// DefaultWorkers is how many concurrent workers each kind gets by
// default: enough to keep every path busy at once, few enough for a
// machine of two CPUs.
var DefaultWorkers = map[Kind]int{
	Small: 4, Upload: 1, Download: 1, Stream: 2, Subscriber: 24, SlowHandler: 2,
	Pipelined: 2, Greedy: 1, HalfClosed: 1, SlowClient: 1, Slowloris: 1, Bad: 1,
	Upgrade: 1, Continue: 1, Abort: 1,
}

// Sizes and pacing of the traffic; Settings reports them.
const (
	helloBody     = "hello\n"
	uploadBytes   = 1 << 20 // spills: over inbufOverflow
	downloadBytes = 4 << 20 // read as fast as it comes
	// A slow reader's response is bigger than the kernel's send buffer can
	// grow to (4 MiB by default): carhop spills output only once the socket
	// backs up. Read at slowReadChunk per slowReadPause: about 1 s.
	slowReaderBytes  = 6 << 20
	slowReadChunk    = 64 << 10
	slowReadPause    = 10 * time.Millisecond
	slowReadStall    = 500 * time.Millisecond
	slowReaderRcvbuf = 64 << 10
	dribblePause     = 10 * time.Millisecond // per head byte: a head of ~90 bytes takes ~0.9 s, under requestTimeout
	streamChunks     = 10
	streamPause      = 5 * time.Millisecond
	// A subscriber's stream lasts about a second, and there are more of
	// them than the server has threads (Settings.Threads): streams that
	// held workers would starve every other kind.
	subscriberEvents = 40
	subscriberPause  = 25 * time.Millisecond
	streamLine       = "chunk %d of %d\n"
	slowSleep        = 100 * time.Millisecond
	pipelineDepth    = 10
	// A greedy client's requests, behind its slow one, hold most of the
	// memory budget (bufferMemory) once parsed ahead: answered when the
	// others leave it room, cut off when they do not, since they are more
	// than a spent budget lets one connection leave unread.
	greedyDepth     = 16
	greedyHeadBytes = 12 << 10 // under maxHeaderBytes
	// An upgraded connection echoes upgradeMessages lines sent
	// upgradePause apart, its handler off the worker pool meanwhile.
	upgradeMessages = 8
	upgradePause    = 5 * time.Millisecond
	// A 100-continue upload: over inbufOverflow, so it spills, in chunks
	// of up to maxContinueChunk bytes.
	continueBytes    = 192 << 10
	maxContinueChunk = 24 << 10
	// An aborting client asks for its handler's state every hangPoll. A
	// handler gives up after hangLimit, or hangLimitBytes written, and
	// reports that it never noticed: the client has stopped asking by
	// then (opTimeout).
	hangPoll       = 5 * time.Millisecond
	hangLimit      = 2 * opTimeout
	hangLimitBytes = 64 << 20
	slowlorisConns = 4
	slowlorisPause = 200 * time.Millisecond // between bytes: never idle long enough for an idle timeout
	// opTimeout bounds one exchange of any kind but slowloris; a slower
	// answer is counted as a timeout.
	opTimeout = 15 * time.Second
)

// Error kinds: how a request failed.
const (
	ErrStatus    = "unexpected status" // a status other than the one the kind expects
	ErrShort     = "short body"        // the connection ended inside a response
	ErrReset     = "connection reset"  // reset or broken pipe
	ErrTimeout   = "timeout"           // no complete answer within opTimeout
	ErrMismatch  = "mismatch"          // a complete response with the wrong content or order
	ErrNotClosed = "not closed"        // a refused request whose connection stayed open, a slowloris not cut
	ErrBusy      = "busy"              // 503 with Retry-After where the kind expects another answer
	ErrRefused   = "refused"           // the connection refused, or reset while connecting: nothing listens
	// ErrUnanswered is a connection that ended, as the response before
	// said it would ("Connection: close"), with requests sent on it
	// unanswered.
	ErrUnanswered = "unanswered"
	// ErrElsewhere is a question about a handler's state answered by
	// another process than the one that ran it (after a restart).
	ErrElsewhere = "asked elsewhere"
	ErrOther     = "other" // anything else (dial errors, malformed responses)
)
