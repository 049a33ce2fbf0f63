// Command hello serves "Hello, World!" with carhop: the smallest complete
// carhop program. Run it with `go run ./examples/hello` and try
// `curl -i localhost:8080/`.
package main

import (
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/carhop/carhop/adapter"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	threads := flag.Int("threads", 4, "worker goroutines")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	})
	if err := adapter.Serve(mux, adapter.WithListen(*listen), adapter.WithThreads(*threads)); err != nil {
		slog.Error("carhop", "err", err)
		os.Exit(1)
	}
}
