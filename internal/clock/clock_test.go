package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNoStaleTimeWithoutServers(t *testing.T) {
	Start()
	Tick(time.Unix(1000, 0))
	assert.Equal(t, time.Unix(1000, 0).UnixNano(), Now(), "a running server's tick is the time")
	Stop()
	assert.Greater(t, Now(), time.Unix(1000, 0).UnixNano(), "after the last server stops, Now is real time again")
	Tick(time.Unix(2000, 0))
	assert.NotEqual(t, time.Unix(2000, 0).UnixNano(), Now(), "ticks without a server are ignored")
}
