package adapter_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/carhop/carhop/adapter"
)

// A listener made by the application (here with net.Listen; it could
// come from a supervisor or a test) is served like carhop's own. Shutdown
// closes it.
func ExampleWithListener() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	srv, err := adapter.New(h, adapter.WithListener(ln), adapter.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()

	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(resp.Status, string(body))

	_ = srv.Shutdown(context.Background())
	fmt.Println(<-done)
	// Output:
	// 200 OK hello
	// http: Server closed
}

// A Unix domain socket, with the permissions of Waitress's
// unix_socket_perms, next to a TCP address.
func ExampleWithUnixSocketPerms() {
	dir, _ := os.MkdirTemp("", "carhop-example-")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "carhop.sock")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "over unix") })
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0", "unix:"+sock),
		adapter.WithUnixSocketPerms(0o660), adapter.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()

	fi, _ := os.Stat(sock)
	fmt.Println(fi.Mode().Perm())
	c := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://carhop/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(string(body))
	_ = srv.Shutdown(context.Background())
	if err := <-done; err != http.ErrServerClosed { //nolint:errorlint // Serve returns it unwrapped
		panic(err)
	}
	// Output:
	// -rw-rw----
	// over unix
}

// A main that restarts without dropping a request on SIGHUP (kill -HUP,
// or systemctl reload with the unit in docs/deploy/), drains on SIGTERM,
// and takes its sockets from systemd when socket-activated.
func ExampleWithGracefulRestart() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	err := adapter.Serve(h,
		adapter.WithListen("0.0.0.0:8080", "[::]:8080"),
		adapter.WithGracefulRestart(true),
		adapter.WithPIDFile("/run/carhop/carhop.pid"),
		adapter.WithShutdownTimeout(30*time.Second),
	)
	if err != nil {
		slog.Error("carhop", "err", err)
		os.Exit(1) // the grace period ran out, or a second signal forced the stop
	}
}
