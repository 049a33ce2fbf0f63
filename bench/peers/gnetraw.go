package peers

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// GnetRaw is gnet with no HTTP at all: it finds each "\r\n\r\n" and answers
// a fixed response, ignoring bodies. It is the ceiling an HTTP server on
// gnet can approach, as in the TechEmpower "stripped" entry. A request
// that starts "GET /big " gets Big, handed to gnet whole: gnet buffers
// what the socket does not take, without bound.
func GnetRaw(ctx context.Context, addr string, ready func()) error {
	h := &rawHandler{ready: ready, ctx: ctx}
	return gnet.Run(h, "tcp://"+addr, gnet.WithNumEventLoop(runtime.GOMAXPROCS(0)), gnet.WithTicker(true))
}

type rawHandler struct {
	gnet.BuiltinEventEngine
	ctx   context.Context
	ready func()
	eng   gnet.Engine
}

var (
	rawResponse = []byte(rawHead(len(Body)) + Body)
	rawBig      = append([]byte(rawHead(BigSize)), Big...)
	rawBigStart = []byte("GET " + BigPath + " ")
)

func rawHead(length int) string {
	return "HTTP/1.1 200 OK\r\nServer: gnet\r\nContent-Type: text/plain\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\nContent-Length: " +
		strconv.Itoa(length) + "\r\n\r\n"
}

func (h *rawHandler) OnBoot(eng gnet.Engine) gnet.Action {
	h.eng = eng
	h.ready()
	return gnet.None
}

func (h *rawHandler) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	n := 0
	for {
		i := bytes.Index(buf[n:], []byte("\r\n\r\n"))
		if i < 0 {
			break
		}
		if bytes.HasPrefix(buf[n:], rawBigStart) {
			_, _ = c.Write(rawBig)
		} else {
			_, _ = c.Write(rawResponse)
		}
		n += i + 4
	}
	_, _ = c.Discard(n)
	return gnet.None
}

func (h *rawHandler) OnTick() (time.Duration, gnet.Action) {
	if h.ctx.Err() != nil {
		return 0, gnet.Shutdown
	}
	return 100 * time.Millisecond, gnet.None
}
