// Command testserver is the carhop server the process tests start: it
// serves a few handlers that make signals, restarts and drains observable,
// through adapter.Serve, and exits 0 when Serve returns nil and 1
// otherwise. It is also what docs/operations.md's measurements ran.
//
//	/            "hello from <pid>"
//	/slow?ms=N   ten lines over N milliseconds, flushed as they go
//	/block       sends its header, then sleeps for an hour, deaf to cancellation
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/carhop/carhop/adapter"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "comma-separated listen addresses")
	byo := flag.Bool("byo", false, "open the TCP listeners with net.Listen and pass them with WithListener")
	grace := flag.Duration("grace", 10*time.Second, "shutdown grace period")
	restart := flag.Bool("restart", false, "graceful restart on SIGHUP")
	pidFile := flag.String("pidfile", "", "PID file")
	reusePort := flag.Bool("reuseport", false, "SO_REUSEPORT")
	perms := flag.Uint("unix-perms", 0, "unix socket permissions (octal, e.g. 0660); 0: default")
	loops := flag.Int("loops", 1, "event loops")
	threads := flag.Int("threads", 8, "worker goroutines")
	ident := flag.String("ident", "carhop", "Server header")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := []adapter.Option{
		adapter.WithShutdownTimeout(*grace), adapter.WithEventLoops(*loops), adapter.WithThreads(*threads),
		adapter.WithIdent(*ident), adapter.WithReusePort(*reusePort), adapter.WithLogger(log),
		adapter.WithGracefulRestart(*restart),
	}
	if *pidFile != "" {
		opts = append(opts, adapter.WithPIDFile(*pidFile))
	}
	if *perms != 0 {
		opts = append(opts, adapter.WithUnixSocketPerms(fs.FileMode(*perms)))
	}
	if *byo {
		for _, a := range strings.Split(*listen, ",") {
			ln, err := net.Listen("tcp", a)
			if err != nil {
				log.Error("listen", "err", err)
				os.Exit(1)
			}
			opts = append(opts, adapter.WithListener(ln))
		}
	} else if *listen != "" {
		opts = append(opts, adapter.WithListen(strings.Split(*listen, ",")...))
	}

	pid := strconv.Itoa(os.Getpid())
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = fmt.Fprintf(w, "hello from %s\n", pid)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		w.Header().Set("Content-Type", "text/plain")
		for i := range 10 {
			_, _ = fmt.Fprintf(w, "line %d of 10 from %s\n", i+1, pid)
			w.(http.Flusher).Flush()
			time.Sleep(time.Duration(ms) * time.Millisecond / 10)
		}
	})
	mux.HandleFunc("/block", func(w http.ResponseWriter, _ *http.Request) {
		w.(http.Flusher).Flush()
		time.Sleep(time.Hour)
	})
	if err := adapter.Serve(mux, opts...); err != nil {
		log.Error("testserver", "err", err)
		os.Exit(1)
	}
}
