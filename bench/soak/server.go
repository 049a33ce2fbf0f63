package soak

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/carhop/carhop/adapter"
)

// Environment of the re-executed child: the address to listen on, the
// directory for spilled bodies and output, and, for a run that ends with a
// graceful restart, the PID file (the child then restarts on SIGHUP).
const (
	serveEnv   = "CARHOP_SOAK_SERVE"
	tempDirEnv = "CARHOP_SOAK_TEMPDIR"
	pidFileEnv = "CARHOP_SOAK_PIDFILE"
)

// dumpEnv, set by whoever runs the soak (the child inherits it), names a
// directory where the server writes all its goroutines' stacks, as
// goroutines-N.txt, at every sample whose goroutine count N differs from
// the one before: what a count that moves consists of.
const dumpEnv = "CARHOP_SOAK_GOROUTINE_DUMPS"

// Child serves as the soak's server if this process was started as one
// (Run re-executes the running binary with an environment variable set),
// and exits when it is stopped; otherwise it returns false at once. The
// command's main, and the TestMain of a test that calls Run, must call it
// first:
//
//	func main() {
//		if soak.Child() {
//			return
//		}
//		...
//	}
func Child() bool {
	addr, ok := os.LookupEnv(serveEnv)
	if !ok {
		return false
	}
	if err := serveChild(addr, os.Getenv(tempDirEnv), os.Getenv(pidFileEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "soak server:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

// serveChild runs carhop with the soak's settings as adapter.Serve does:
// until SIGTERM or SIGINT, drained within shutdownTimeout, and with
// pidFile set, replaced by a new process on SIGHUP.
func serveChild(addr, tempDir, pidFile string) error {
	h := &handler{dumpDir: os.Getenv(dumpEnv), tempDir: tempDir, pid: strconv.Itoa(os.Getpid())}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := append(serverOptions(addr, tempDir), adapter.WithLogger(logger))
	if pidFile != "" {
		opts = append(opts, adapter.WithGracefulRestart(true), adapter.WithPIDFile(pidFile))
	}
	s, err := adapter.New(h, opts...)
	if err != nil {
		return err
	}
	h.stats = s.Stats
	return s.Run()
}

// pidHeader names the process that answered /hang or /hang-status: after
// a graceful restart, the status of a handler that ran in the old
// process cannot be asked of the new one.
const pidHeader = "X-Soak-Pid"

// ServerSample is what the stats endpoint reports: the child's goroutines,
// heap and carhop's counters.
type ServerSample struct {
	Goroutines int           `json:"goroutines"`
	HeapAlloc  uint64        `json:"heap_alloc"`
	HeapInuse  uint64        `json:"heap_inuse"`
	HeapSys    uint64        `json:"heap_sys"`
	NumGC      uint32        `json:"num_gc"`
	Server     adapter.Stats `json:"server"`
}

// handler is the soak server's application: one endpoint per kind of
// traffic, each answering something the client can check exactly.
type handler struct {
	stats   func() adapter.Stats
	tempDir string // where /download?file=1 writes its file
	hangs   hangs  // the /hang handlers, for /hang-status
	pid     string // this process's, in pidHeader

	dumpDir string // dumpEnv's
	mu      sync.Mutex
	dumped  int // the goroutine count of the last dump
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/", "/small":
		_, _ = io.WriteString(w, helloBody)
	case "/echo":
		// Pipelined batches check their order by it.
		_, _ = io.WriteString(w, q.Get("i")+"\n")
	case "/upload":
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		sum := sha256.New()
		n, err := io.Copy(sum, r.Body)
		if err != nil {
			http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = fmt.Fprintf(w, "%s %d\n", hex.EncodeToString(sum.Sum(nil)), n)
	case "/download":
		seed, _ := strconv.ParseUint(q.Get("seed"), 10, 64)
		size, err := strconv.ParseInt(q.Get("size"), 10, 64)
		if err != nil || size < 0 || size > maxBodyBytes {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		if q.Get("file") != "" {
			h.serveFile(w, r, seed, size)
			return
		}
		if q.Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		}
		_, _ = io.Copy(w, newPattern(seed, size))
	case "/stream", "/events":
		// No Content-Length and a flush per chunk: chunked framing, each
		// chunk on the wire before the handler sleeps. /events is a
		// subscriber's longer stream.
		n, pause := streamChunks, streamPause
		if r.URL.Path == "/events" {
			n, pause = subscriberEvents, subscriberPause
		}
		f, _ := w.(http.Flusher)
		for i := range n {
			_, _ = fmt.Fprintf(w, streamLine, i, n)
			if f != nil {
				f.Flush()
			}
			time.Sleep(pause)
		}
	case "/trailed":
		serveTrailed(w, r)
	case "/upgrade":
		serveUpgrade(w, r)
	case "/hang":
		w.Header().Set(pidHeader, h.pid)
		h.hangs.serveHang(w, r)
	case "/hang-status":
		w.Header().Set(pidHeader, h.pid)
		h.hangs.serveStatus(w, r)
	case "/slow":
		time.Sleep(slowSleep)
		_, _ = io.WriteString(w, "slept\n")
	case "/stats":
		w.Header().Set("Content-Type", "application/json")
		sm := sampleSelf(h.stats())
		h.dump(sm.Goroutines)
		_ = json.NewEncoder(w).Encode(sm)
	default:
		http.NotFound(w, r)
	}
}

// serveFile answers the pattern from a file, with http.ServeContent, as a
// static file is served: carhop sends it from the file, holding a
// duplicate of its descriptor until the client has it. The file is
// written to the temporary directory and unlinked at once, so a
// descriptor the server forgets to close shows among the soak's open
// spill files.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, seed uint64, size int64) {
	f, err := os.CreateTemp(h.tempDir, "soak-file-*")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer func() { _ = f.Close() }()
	_ = os.Remove(f.Name())
	if _, err := io.Copy(f, newPattern(seed, size)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, f)
}

// dump writes every goroutine's stack to dumpDir when the count has
// changed since the last dump.
func (h *handler) dump(goroutines int) {
	if h.dumpDir == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if goroutines == h.dumped {
		return
	}
	h.dumped = goroutines
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	name := filepath.Join(h.dumpDir, fmt.Sprintf("goroutines-%d.txt", goroutines))
	if err := os.WriteFile(name, buf[:n], 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "soak server: goroutine dump:", err)
	}
}

func sampleSelf(st adapter.Stats) ServerSample {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return ServerSample{Goroutines: runtime.NumGoroutine(), HeapAlloc: m.HeapAlloc, HeapInuse: m.HeapInuse,
		HeapSys: m.HeapSys, NumGC: m.NumGC, Server: st}
}
