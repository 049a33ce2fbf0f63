package channel

import (
	"sync"

	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/parser"
)

// pools hold the parsers and output buffers of connections that are
// between requests. An idle keep-alive connection then costs only its
// channel and gnet's connection, not a parser with its head buffer or an
// output buffer: with ten thousand idle clients that is the difference
// that matters (docs/design.md).
type pools struct {
	receivers sync.Pool
	outputs   sync.Pool
	memory    *buffers.Memory // what a receiver holds of it goes back with the receiver
}

func newPools(c *Config) *pools {
	lim, overflow, dir, bounds := c.Limits, c.OutbufOverflow, c.TempDir, buffers.Bounds{Files: c.Files, Memory: c.Memory}
	return &pools{
		receivers: sync.Pool{New: func() any { return &receiver{p: parser.New(lim)} }},
		outputs:   sync.Pool{New: func() any { return buffers.NewBounded(overflow, dir, bounds) }},
		memory:    c.Memory,
	}
}

func (p *pools) receiver() *receiver { return p.receivers.Get().(*receiver) }

func (p *pools) putReceiver(x *receiver) {
	x.count(p.memory, 0)
	x.p.Reset()
	x.cur = nil
	p.receivers.Put(x)
}

func (p *pools) output() *buffers.Overflowable { return p.outputs.Get().(*buffers.Overflowable) }

func (p *pools) putOutput(b *buffers.Overflowable) {
	b.Reset()
	p.outputs.Put(b)
}
