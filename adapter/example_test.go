package adapter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/carhop/carhop/adapter"
)

// New and Server.Serve give control over the server's lifecycle; Serve
// (the function) is the same with signal handling built in.
func ExampleNew() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "Hello, "+r.URL.Query().Get("name"))
	})
	srv, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(2))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()

	resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/?name=carhop")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(resp.Status, string(body))

	http.DefaultClient.CloseIdleConnections()
	_ = srv.Shutdown(context.Background())
	fmt.Println(<-done)
	// Output:
	// 200 OK Hello, carhop
	// http: Server closed
}
