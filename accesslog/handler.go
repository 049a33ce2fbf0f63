package accesslog

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Handler logs every request to next on out in format f. Lines are
// written whole, one Write each, under a lock, so out needs no locking of
// its own; a failing out is reported once through slog.Default. For JSON
// the records go through slog.NewJSONHandler(out, nil).
//
// Handler panics if out is nil or f is not one of the Format constants;
// ParseFormat validates configuration values.
func Handler(next http.Handler, out io.Writer, f Format) http.Handler {
	if out == nil || !f.valid() {
		panic("accesslog: Handler needs a writer and a valid Format")
	}
	if f == JSON {
		return SlogHandler(next, slog.New(slog.NewJSONHandler(out, nil)))
	}
	return &lineHandler{next: next, out: out, combined: f == Combined}
}

// SlogHandler logs every request to next as one Info record, message
// "request", with the attributes listed for JSON, through l and so in
// whatever form l's handler writes.
func SlogHandler(next http.Handler, l *slog.Logger) http.Handler {
	if l == nil {
		panic("accesslog: SlogHandler needs a logger")
	}
	return &slogHandler{next: next, l: l}
}

// record is one request's entry.
type record struct {
	start time.Time
	w     responseWriter
}

// sink writes a completed record.
type sink interface {
	log(rec *record, r *http.Request, end time.Time)
}

// serve runs next and hands the completed record to s, also when next
// panics (the panic continues once the record is written).
func serve(next http.Handler, w http.ResponseWriter, r *http.Request, s sink) {
	rec := &record{start: time.Now(), w: responseWriter{ResponseWriter: w}}
	finished := false
	defer func() {
		if !finished && rec.w.status == 0 {
			rec.w.status = http.StatusInternalServerError // what the server answers a panic with
		}
		if rec.w.status == 0 {
			rec.w.status = http.StatusOK // the handler wrote nothing: the server sends 200
		}
		s.log(rec, r, time.Now())
	}()
	next.ServeHTTP(&rec.w, r)
	finished = true
}

type slogHandler struct {
	next http.Handler
	l    *slog.Logger
}

func (h *slogHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.l.Enabled(r.Context(), slog.LevelInfo) {
		h.next.ServeHTTP(w, r)
		return
	}
	serve(h.next, w, r, h)
}

func (h *slogHandler) log(rec *record, r *http.Request, end time.Time) {
	attrs := [...]slog.Attr{
		slog.String("remote", r.RemoteAddr),
		slog.String("method", r.Method),
		slog.String("target", target(r)),
		slog.String("proto", r.Proto),
		slog.Int("status", rec.w.status),
		slog.Int64("bytes", rec.w.bytes),
		slog.Duration("duration", end.Sub(rec.start)),
		slog.String("referer", r.Header.Get("Referer")),
		slog.String("user_agent", r.Header.Get("User-Agent")),
		slog.Bool("hijacked", true),
	}
	n := len(attrs)
	if !rec.w.hijacked {
		n--
	}
	// The record is built here rather than with Logger.LogAttrs, which
	// would walk the stack for a source position nobody needs (the call
	// site is always this line); that walk was a third of the cost.
	sr := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	sr.AddAttrs(attrs[:n]...)
	// The context carries values a handler may log (trace IDs); it may be
	// cancelled by now, which slog handlers do not look at.
	_ = h.l.Handler().Handle(r.Context(), sr)
}

// target is the request target as the client sent it.
func target(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

type lineHandler struct {
	next     http.Handler
	combined bool

	mu       sync.Mutex
	out      io.Writer
	failed   atomic.Bool
	lastTime atomic.Pointer[stamp]
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (h *lineHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serve(h.next, w, r, h)
}

func (h *lineHandler) log(rec *record, r *http.Request, _ time.Time) {
	bp := linePool.Get().(*[]byte)
	b := h.appendLine((*bp)[:0], rec, r)
	h.mu.Lock()
	_, err := h.out.Write(b)
	h.mu.Unlock()
	if err != nil && !h.failed.Swap(true) {
		slog.Default().Error("accesslog: writing the access log failed; further failures are not reported", "err", err)
	}
	if cap(b) <= 64<<10 { // a giant line (a huge User-Agent) is not kept
		*bp = b
		linePool.Put(bp)
	}
}
