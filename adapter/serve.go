package adapter

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/internal/clock"
)

// serve runs the handler for one complete request. It runs on a worker.
func (s *Server) serve(ch *channel.Channel, cr *channel.Request, leave func()) (left bool) {
	p := cr.Value.(*pending)
	r := &p.req
	var rd *deadline
	if cr.Body != nil {
		p.body.rc = cr.Body.Reader()
		r.Body, rd = &p.body, &p.body.deadline
	}
	w := newResponse(s, ch, r, cr.KeepAlive, rd, leave)
	keepAlive := false
	if s.run(w, r) {
		keepAlive = w.finish()
	} else {
		w.abort()
	}
	p.ctx.cancel()
	ch.Finish(keepAlive)
	left = w.left
	w.recycle()
	return left
}

// run calls the handler and reports whether it returned normally.
func (s *Server) run(w *response, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler { //nolint:errorlint // net/http compares the panic value the same way
				s.cfg.logger.Error("carhop: handler panicked", "method", r.Method, "target", r.RequestURI,
					"remote", r.RemoteAddr, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			}
			ok = false
		}
	}()
	h := s.handler
	if r.RequestURI == "*" && r.Method == http.MethodOptions && s.cfg.generalOptions {
		h = generalOptions
	}
	h.ServeHTTP(w, r)
	return true
}

// generalOptions answers "OPTIONS *", a question about the server rather
// than a resource, as net/http does unless its
// DisableGeneralOptionsHandler is set (WithGeneralOptionsHandler): 200
// and an empty body. Handlers never see it, so a ServeMux does not answer
// it 400.
var generalOptions = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Length", "0")
})

// errorResponse is the whole response to a refused request.
func (s *Server) errorResponse(status int, reason string) []byte {
	body := strconv.Itoa(status) + " " + http.StatusText(status) + ": " + reason + "\n"
	b := make([]byte, 0, 192+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	if status == http.StatusServiceUnavailable {
		b = append(b, "\r\nRetry-After: 1"...)
	}
	b = append(b, "\r\nConnection: close\r\nDate: "...)
	b = append(b, s.date.get(clock.Now())...)
	if s.cfg.ident != "" {
		b = append(b, "\r\nServer: "...)
		b = append(b, s.cfg.ident...)
	}
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}
