package buffers_test

import (
	"fmt"
	"io"

	"github.com/carhop/carhop/channel/buffers"
)

// A request body bigger than the threshold: the first bytes stay in
// memory, the rest go to an unlinked temporary file, and the handler reads
// them back in order. Closing the body frees both.
func Example() {
	body := buffers.New(16, "") // "" spills to os.TempDir()
	defer body.Close()

	for _, piece := range []string{"hello, ", "this part ", "spills to disk"} {
		if _, err := body.Write([]byte(piece)); err != nil {
			fmt.Println("answer 503:", err)
			return
		}
	}
	fmt.Println(body.Len(), "bytes,", body.InMemory(), "in memory, spilled:", body.Spilled())

	r := body.Reader()
	b, _ := io.ReadAll(r)
	fmt.Printf("%q\n", b)
	_ = r.Close()
	fmt.Println("spilled after close:", body.Spilled())
	// Output:
	// 31 bytes, 16 in memory, spilled: true
	// "hello, this part spills to disk"
	// spilled after close: false
}

// The event loop sends output with Peek and Discard, consuming only what
// the socket accepted; here it takes at most 8 bytes per send.
func ExampleOverflowable_Peek() {
	out := buffers.New(buffers.DefaultOutputOverflow, "")
	defer out.Close()
	_, _ = out.Write([]byte("HTTP/1.1 200 OK\r\n"))

	for out.Len() > 0 {
		b, err := out.Peek(8)
		if err != nil {
			fmt.Println("close the connection:", err)
			return
		}
		fmt.Printf("sent %q\n", b)
		out.Discard(len(b))
	}
	// Output:
	// sent "HTTP/1.1"
	// sent " 200 OK\r"
	// sent "\n"
}
