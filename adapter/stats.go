package adapter

import (
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/carhop/carhop/task"
)

// Stats is a snapshot of what a server is doing and has done since it
// started. Each field is read atomically on its own; a snapshot taken
// under load is not a consistent cut across fields.
type Stats struct {
	Connections int64  // open now
	Accepted    uint64 // connections accepted, including refused ones
	Requests    uint64 // complete requests handed to the handler
	// Refused counts requests and connections answered with an error
	// instead of the handler, by status: 400, 408, 413, 431, 501 and so
	// on from the parser and timeouts, 503 for connections over the limit
	// or arriving while the server shuts down.
	Refused        map[int]uint64
	BytesIn        uint64 // request bytes read
	BytesOut       uint64 // response bytes written
	SpilledBodies  uint64 // request bodies buffered in a temporary file (WithInbufOverflow)
	SpilledOutputs uint64 // responses buffered in a temporary file (WithOutbufOverflow)
	FilesSent      uint64 // file ranges sent from the file with sendfile, not copied (http.ServeContent)
	Hijacked       uint64 // connections taken over through http.Hijacker
	// HijackedOpen is how many of those their hijackers have not closed
	// yet: they count toward the connection limit (WithConnectionLimit).
	HijackedOpen int64
	// OpenFiles is how many descriptors the connections hold now beyond
	// their sockets (temporary files, files being sent, and one for each
	// handler beside the worker pool), FileLimit how many they may (from
	// the process's descriptor limit, so that accepting never runs out;
	// 0: no limit), and FilesDenied how often one was wanted past it:
	// output then waited in memory, a file was copied, a body was refused
	// with 503, or a handler that streamed kept its worker.
	OpenFiles   int
	FileLimit   int
	FilesDenied uint64
	// BufferedBytes is how many request-body and response bytes the
	// connections keep in memory now (with the output the socket layer
	// holds, the requests read ahead of those being served, the input
	// left unread behind them, and heads and trailer sections still
	// arriving), BufferMemoryLimit how many they may (WithBufferMemory;
	// each connection may keep 32 KiB of each beyond it, and what the
	// socket layer holds), and BufferMemoryDenied how often a body or
	// output went to a temporary file early, or waited for one, because
	// the limit was reached.
	BufferedBytes      int64
	BufferMemoryLimit  int64
	BufferMemoryDenied uint64
	// InputEnded counts connections whose client ended its input (a
	// half-close, or a close, which looks the same) while requests were
	// queued or running, or their responses unsent: they are answered
	// all the same, and then closed.
	InputEnded uint64
	// CutOff counts connections closed, unanswered, because their client
	// pipelined further ahead of the responses than it may: more than
	// 1 MiB of input left unread behind the requests parsed ahead, or
	// more than 64 KiB while WithBufferMemory is spent.
	CutOff uint64
	// Tasks is the worker pool: threads, queued and running requests,
	// handlers that left their worker (hijacked or streaming), completed
	// requests and handler panics.
	Tasks task.Stats
}

// Stats returns a snapshot of the server's counters. It is cheap (a few
// atomic loads) and safe to call from any goroutine at any time.
func (s *Server) Stats() Stats {
	c := s.loop.Counters()
	var openFiles, fileLimit int
	var denied uint64
	if fds := s.loop.Files(); fds != nil {
		openFiles, fileLimit, denied = fds.Open(), fds.Limit(), fds.Denied()
	}
	return Stats{
		OpenFiles:          openFiles,
		FileLimit:          fileLimit,
		FilesDenied:        denied,
		BufferedBytes:      s.memory.Held(),
		BufferMemoryLimit:  s.memory.Limit(),
		BufferMemoryDenied: s.memory.Denied(),
		Connections:        s.loop.Open(),
		Accepted:           s.loop.Accepted(),
		Requests:           c.Requests.Load(),
		Refused:            c.Refused(),
		BytesIn:            c.BytesIn.Load(),
		BytesOut:           c.BytesOut.Load(),
		SpilledBodies:      c.SpilledBodies.Load(),
		SpilledOutputs:     c.SpilledOutputs.Load(),
		FilesSent:          c.FilesSent.Load(),
		Hijacked:           c.Hijacked.Load(),
		HijackedOpen:       s.loop.Hijacked(),
		InputEnded:         c.InputEnded.Load(),
		CutOff:             c.CutOff.Load(),
		Tasks:              s.pool.Stats(),
	}
}

// StatsHandler serves the server's Stats in the Prometheus text
// exposition format (version 0.0.4), which Prometheus, the OpenTelemetry
// collector and most agents scrape. Mount it on an internal address or
// behind authentication: it tells whoever asks how loaded the server is.
// For expvar, publish expvar.Func(func() any { return s.Stats() }).
func (s *Server) StatsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writePrometheus(w, s.Stats())
	})
}

// writePrometheus writes st in the Prometheus text format.
func writePrometheus(w io.Writer, st Stats) {
	metric := func(name, kind, help string, value any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, kind, name, value)
	}
	metric("carhop_connections_open", "gauge", "Connections open now.", st.Connections)
	metric("carhop_connections_accepted_total", "counter", "Connections accepted, including refused ones.", st.Accepted)
	metric("carhop_connections_hijacked_total", "counter", "Connections taken over through http.Hijacker.", st.Hijacked)
	metric("carhop_connections_hijacked_open", "gauge", "Hijacked connections not closed yet; they count toward the connection limit.", st.HijackedOpen)
	metric("carhop_connections_input_ended_total", "counter", "Connections whose client ended its input with requests still to answer.", st.InputEnded)
	metric("carhop_connections_cut_off_total", "counter", "Connections closed for pipelining further ahead of their responses than allowed.", st.CutOff)
	metric("carhop_requests_total", "counter", "Complete requests handed to the handler.", st.Requests)
	fmt.Fprintf(w, "# HELP carhop_refused_total Requests and connections answered with an error instead of the handler.\n# TYPE carhop_refused_total counter\n")
	statuses := make([]int, 0, len(st.Refused))
	for code := range st.Refused {
		statuses = append(statuses, code)
	}
	slices.Sort(statuses)
	for _, code := range statuses {
		fmt.Fprintf(w, "carhop_refused_total{code=\"%d\"} %d\n", code, st.Refused[code])
	}
	metric("carhop_received_bytes_total", "counter", "Request bytes read.", st.BytesIn)
	metric("carhop_sent_bytes_total", "counter", "Response bytes written.", st.BytesOut)
	metric("carhop_spilled_bodies_total", "counter", "Request bodies buffered in a temporary file.", st.SpilledBodies)
	metric("carhop_spilled_outputs_total", "counter", "Responses buffered in a temporary file.", st.SpilledOutputs)
	metric("carhop_files_sent_total", "counter", "File ranges sent from the file rather than copied.", st.FilesSent)
	metric("carhop_files_open", "gauge", "Temporary files and files being sent held open now.", st.OpenFiles)
	metric("carhop_files_limit", "gauge", "Files the connections may hold open at once (0: no limit).", st.FileLimit)
	metric("carhop_files_denied_total", "counter", "Files wanted past the limit: output waited in memory, a file was copied, or a body was refused.", st.FilesDenied)
	metric("carhop_buffered_bytes", "gauge", "Request and response bytes the connections keep in memory (WithBufferMemory counts them).", st.BufferedBytes)
	metric("carhop_buffer_memory_limit_bytes", "gauge", "Bytes the connections may keep in memory together beyond 32 KiB each (WithBufferMemory).", st.BufferMemoryLimit)
	metric("carhop_buffer_memory_denied_total", "counter", "Bodies and outputs sent to a temporary file early, or kept waiting for one, because the memory limit was reached.", st.BufferMemoryDenied)
	metric("carhop_threads", "gauge", "Worker goroutines of the task pool.", st.Tasks.Threads)
	metric("carhop_tasks_queued", "gauge", "Complete requests waiting for a worker.", st.Tasks.Queued)
	metric("carhop_tasks_running", "gauge", "Requests being handled now.", st.Tasks.Running)
	metric("carhop_tasks_released", "gauge", "Handlers that hijacked or streamed and run beside the workers, not counted against the threads.", st.Tasks.Released)
	metric("carhop_tasks_completed_total", "counter", "Requests whose handler has returned or panicked.", st.Tasks.Completed)
	metric("carhop_tasks_panics_total", "counter", "Handlers that panicked.", st.Tasks.Panics)
	metric("carhop_tasks_dropped_total", "counter", "Queued requests dropped by Close or an expired Shutdown.", st.Tasks.Dropped)
}
