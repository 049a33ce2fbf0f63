package adapter

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/parser"
)

// Options check their values when New applies them, so that a mistake
// shows at start-up rather than as a server misbehaving under load.
func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		err  string // "" when the option is accepted
	}{
		{"threads", WithThreads(0), "WithThreads(0): must be positive"},
		{"connection limit", WithConnectionLimit(-1), "must be positive"},
		{"channel timeout", WithChannelTimeout(0), "must be positive"},
		{"header size zero", WithMaxRequestHeaderSize(0), "must be positive"},
		{"header size at the cap", WithMaxRequestHeaderSize(parser.MaxHeadLimit), ""},
		{"header size past the cap", WithMaxRequestHeaderSize(parser.MaxHeadLimit + 1), "at most 536870912"},
		{"body size", WithMaxRequestBodySize(0), "must be positive"},
		{"limits at the cap", WithLimits(parser.Limits{MaxHeaderBytes: parser.MaxHeadLimit, MaxTrailerBytes: parser.MaxHeadLimit}), ""},
		{"limits, head past the cap", WithLimits(parser.Limits{MaxHeaderBytes: 1 << 31}), "must be at most"},
		{"limits, trailers past the cap", WithLimits(parser.Limits{MaxTrailerBytes: parser.MaxHeadLimit + 1}), "must be at most"},
		{"shutdown timeout", WithShutdownTimeout(-time.Second), "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(http.NotFoundHandler(), WithListen("127.0.0.1:0"), tt.opt)
			if tt.err == "" {
				require.NoError(t, err)
				require.NoError(t, s.Close())
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}
