package baselines_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/carhop/carhop/bench/baselines"
)

func Example() {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- baselines.Designs["goroutine-per-conn"](ctx, ln) }()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"), string(body))

	stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// 200 OK text/plain Hello, World!
	// stopped: <nil>
}
