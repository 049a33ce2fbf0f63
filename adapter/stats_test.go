package adapter

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsCountTraffic(t *testing.T) {
	s, addr := start(t, http.HandlerFunc(hashBody), WithInbufOverflow(1024), WithTempDir(t.TempDir()), WithConnectionLimit(1))

	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := c.response(http.MethodGet)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body := strings.Repeat("b", 4096)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" + body)
	resp, _ = c.response(http.MethodPost)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The limit is one connection: a second one is refused with 503.
	over := dial(t, addr)
	resp, _ = over.response(http.MethodGet)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	c.send("GET / HTTP/9.9\r\nHost: x\r\n\r\n")
	resp, _ = c.response(http.MethodGet)
	require.Equal(t, http.StatusHTTPVersionNotSupported, resp.StatusCode)
	require.True(t, c.closed())

	// Counters move as the loop and workers get to them: wait, bounded.
	st := s.Stats()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); st = s.Stats() {
		if st.Connections == 0 && st.Tasks.Completed == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.Zero(t, st.Connections, "%+v", st)
	require.Equal(t, uint64(3), st.Tasks.Completed, "two requests and the 505 answer: %+v", st)
	assert.Equal(t, uint64(2), st.Accepted)
	assert.Equal(t, uint64(2), st.Requests)
	assert.Equal(t, map[int]uint64{503: 1, 505: 1}, st.Refused)
	assert.Equal(t, uint64(1), st.SpilledBodies, "the 4 KiB body went past the 1 KiB inbuf_overflow")
	assert.Zero(t, st.OpenFiles, "the body's temporary file is given back with the request")
	assert.Positive(t, st.FileLimit, "a budget from RLIMIT_NOFILE")
	assert.Greater(t, st.BytesIn, uint64(len(body)))
	assert.Greater(t, st.BytesOut, uint64(0))
	assert.Equal(t, 4, st.Tasks.Threads)
}

func TestStatsHandlerServesPrometheusText(t *testing.T) {
	s, addr := start(t, http.HandlerFunc(hello))
	resp, err := client(t).Get("http://" + addr + "/")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Eventually(t, func() bool { return s.Stats().Tasks.Completed == 1 }, 10*time.Second, 10*time.Millisecond)

	rec := httptest.NewRecorder()
	s.StatsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", rec.Header().Get("Content-Type"))
	text := rec.Body.String()
	for _, line := range []string{
		"# TYPE carhop_requests_total counter\ncarhop_requests_total 1\n",
		"carhop_connections_open 1\n",
		"carhop_threads 4\n",
		"carhop_tasks_completed_total 1\n",
		"carhop_files_open 0\n",
		fmt.Sprintf("carhop_files_limit %d\n", s.Stats().FileLimit),
	} {
		assert.Contains(t, text, line)
	}
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(l, "#") {
			assert.Len(t, strings.Fields(l), 2, "sample line %q is name and value", l)
		}
	}
}

func TestWritePrometheusListsRefusalsByCode(t *testing.T) {
	var b strings.Builder
	writePrometheus(&b, Stats{Refused: map[int]uint64{503: 2, 400: 1}})
	text := b.String()
	i400 := strings.Index(text, "carhop_refused_total{code=\"400\"} 1\n")
	i503 := strings.Index(text, "carhop_refused_total{code=\"503\"} 2\n")
	require.GreaterOrEqual(t, i400, 0)
	require.Greater(t, i503, i400, "codes in ascending order")
}
