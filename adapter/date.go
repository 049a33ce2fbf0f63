package adapter

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateCache holds the Date header value, formatted once per second rather
// than once per response.
type dateCache struct {
	v atomic.Pointer[dateValue]
}

type dateValue struct {
	sec int64
	s   string
}

func (d *dateCache) get(nanos int64) string {
	sec := nanos / int64(time.Second)
	if v := d.v.Load(); v != nil && v.sec == sec {
		return v.s
	}
	v := &dateValue{sec: sec, s: time.Unix(sec, 0).UTC().Format(http.TimeFormat)}
	d.v.Store(v)
	return v.s
}
