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
	parsers sync.Pool
	outputs sync.Pool
}

func newPools(c *Config) *pools {
	lim, overflow, dir := c.Limits, c.OutbufOverflow, c.TempDir
	return &pools{
		parsers: sync.Pool{New: func() any { return parser.New(lim) }},
		outputs: sync.Pool{New: func() any { return buffers.New(overflow, dir) }},
	}
}

func (p *pools) parser() *parser.Parser { return p.parsers.Get().(*parser.Parser) }

func (p *pools) putParser(x *parser.Parser) {
	x.Reset()
	p.parsers.Put(x)
}

func (p *pools) output() *buffers.Overflowable { return p.outputs.Get().(*buffers.Overflowable) }

func (p *pools) putOutput(b *buffers.Overflowable) {
	b.Reset()
	p.outputs.Put(b)
}
