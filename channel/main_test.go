package channel

import (
	"testing"

	"github.com/carhop/carhop/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// plainServe makes a Config.Serve of a function that never releases its
// worker's place.
func plainServe(f func(ch *Channel, r *Request)) func(*Channel, *Request, func()) bool {
	return func(ch *Channel, r *Request, _ func()) bool {
		f(ch, r)
		return false
	}
}
