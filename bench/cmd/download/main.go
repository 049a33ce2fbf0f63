// Command download serves large responses for measuring bulk transfer:
// GET /?mb=N answers N MiB, written by the handler 64 KiB at a time with a
// Content-Length, through carhop or net/http; with -file-mb N, GET /file
// answers a file of N MiB made at startup, with http.ServeContent (which
// carhop sends from the file, and "carhop-copy" copies through Write);
// GET /wait answers once its client has gone, a handler that never
// finishes for bench/cmd/pipeliners:
//
//	go run ./bench/cmd/download -server carhop -addr 127.0.0.1:8081 &
//	curl -s -o /dev/null -w '%{speed_download}\n' 'http://127.0.0.1:8081/?mb=1024'
//
// docs/performance.md ("Bulk transfers") was measured so, with the server's
// CPU time read from /proc before and after; "Many slow readers" with
// bench/cmd/slowreaders as the client, "Clients that pipeline ahead" with
// bench/cmd/pipeliners. It stops on SIGINT or SIGTERM.
// With -cpuprofile it writes a CPU profile of the whole run when it stops,
// for `go tool pprof`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/carhop/carhop/adapter"
	"github.com/carhop/carhop/internal/cpuprofile"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "download:", err)
		os.Exit(1)
	}
}

func run() error {
	server := flag.String("server", "carhop", "carhop, carhop-copy (files copied through Write) or net-http")
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	overflow := flag.Int("outbuf-overflow", 0, "carhop's WithOutbufOverflow in bytes (0: its default)")
	watermark := flag.Int64("outbuf-high-watermark", 0, "carhop's WithOutbufHighWatermark in bytes (0: its default)")
	memory := flag.Int64("buffer-memory", 0, "carhop's WithBufferMemory in bytes (0: its default)")
	fileMB := flag.Int("file-mb", 0, "make a file of this many MiB to serve as /file")
	flag.Parse()
	if *fileMB > 0 {
		path, err := makeFile(*fileMB)
		if err != nil {
			return err
		}
		defer func() { _ = os.Remove(path) }()
		served = path
	}
	stopProfile, err := cpuprofile.Start(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch *server {
	case "carhop", "carhop-copy":
		copyFiles = *server == "carhop-copy"
		opts := []adapter.Option{adapter.WithListen(*addr), adapter.WithLogger(slog.New(slog.DiscardHandler))}
		if *overflow > 0 {
			opts = append(opts, adapter.WithOutbufOverflow(*overflow))
		}
		if *watermark > 0 {
			opts = append(opts, adapter.WithOutbufHighWatermark(*watermark))
		}
		if *memory > 0 {
			opts = append(opts, adapter.WithBufferMemory(*memory))
		}
		s, err := adapter.New(http.HandlerFunc(download), opts...)
		if err != nil {
			return err
		}
		go func() {
			<-ctx.Done()
			_ = s.Close()
		}()
		if err := s.Serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case "net-http":
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: http.HandlerFunc(download), ReadHeaderTimeout: 30 * time.Second}
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return fmt.Errorf("unknown server %q: carhop or net-http", *server)
}

var chunk = make([]byte, 64<<10)

var (
	served    string // the file /file serves
	copyFiles bool   // carhop-copy: hide carhop's ReadFrom
)

// makeFile writes a file of mb MiB in the temporary directory.
func makeFile(mb int) (string, error) {
	f, err := os.CreateTemp("", "carhop-download-*")
	if err != nil {
		return "", err
	}
	for range mb * 16 {
		if _, err := f.Write(chunk); err != nil {
			_ = f.Close()
			return "", err
		}
	}
	return f.Name(), f.Close()
}

// download answers mb MiB in 64 KiB writes, /file the file, and /wait
// nothing until its client has gone.
func download(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/wait" {
		<-r.Context().Done()
		return
	}
	if r.URL.Path == "/file" {
		f, err := os.Open(served)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		defer func() { _ = f.Close() }()
		if copyFiles {
			w = struct{ http.ResponseWriter }{w} // no io.ReaderFrom
		}
		http.ServeContent(w, r, "file", time.Time{}, f)
		return
	}
	mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
	if err != nil || mb < 0 || mb > 1<<20 {
		http.Error(w, "mb: a number of MiB", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(mb<<20))
	for range mb * 16 {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}
