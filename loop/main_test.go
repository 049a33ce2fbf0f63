package loop

import (
	"github.com/carhop/carhop/channel"
	"testing"

	"github.com/carhop/carhop/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// plainServe makes a channel.Config.Serve of a function that never
// releases its worker's place.
func plainServe(f func(ch *channel.Channel, r *channel.Request)) func(*channel.Channel, *channel.Request, func()) bool {
	return func(ch *channel.Channel, r *channel.Request, _ func()) bool {
		f(ch, r)
		return false
	}
}
