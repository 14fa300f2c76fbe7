package main

import (
	"errors"
	"fmt"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/tick"
)

// publisherEmitter hands the inline engine's records (serve -fused) to the
// publisher, which is made after the engine because it names the engine's
// validated rules: pub is set before any source starts.
type publisherEmitter struct {
	pub     *bus.Publisher
	started bool // pub.Start succeeded: Finish is owed
}

func (e *publisherEmitter) Emit(o *tick.Out) { e.pub.Emit(o) }
func (e *publisherEmitter) EndBatch()        { e.pub.EndBatch() }

// checkFused validates -fused: the engine runs on its source's goroutine,
// so there is one shard and one feed source (the listener takes one
// connection at a time).
func (c *serveConfig) checkFused(src feedSources) error {
	if c.shards > 1 {
		return fmt.Errorf("fused: the engine runs on the feed's goroutine as one shard, not -shards %d", c.shards)
	}
	if src.kafka != nil {
		return errors.New("fused: not with -feed-kafka, which feeds the engine from one goroutine per partition")
	}
	if src.nats != nil {
		return errors.New("fused: not with -feed-nats: the inline engine takes one TCP, tail or ITCH source; drop -fused to take ticks from NATS")
	}
	n := len(src.dial) + len(src.itch) + len(c.feedTail)
	if c.listens(src) {
		n++
	}
	if n != 1 {
		return fmt.Errorf("fused: takes one feed source, not %d (-feed-listen counts as one unless set to \"\")", n)
	}
	return nil
}
