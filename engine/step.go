package engine

import (
	"errors"
	"fmt"

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// Step is one engine shard driven by its caller's goroutine: no input
// rings, no goroutines. It is for single-core measurements (decode → book
// → statistics → rules in one loop), tests that compare a live run with a
// straight computation, and tools that process a file in-process. Its
// results are those an Engine with one shard produces from the same
// events.
type Step struct {
	s    *shard
	cons *ringbuf.Consumer[tick.Out]
}

// stepChunk bounds the events processed before the outputs are drained, so
// the output ring never fills (a chunk yields far fewer records than
// stepOutputs).
const (
	stepChunk   = 1024
	stepOutputs = 1 << 14
)

// NewStep returns a Step for cfg (Shards must be 0 or 1; OutputCapacity,
// Wait and OutputBell are ignored).
func NewStep(cfg Config, syms *tick.SymbolTable) (*Step, error) {
	if syms == nil {
		return nil, errors.New("engine: nil symbol table")
	}
	if cfg.Shards > 1 {
		return nil, fmt.Errorf("engine: a Step is one shard, not %d", cfg.Shards)
	}
	cfg.OutputCapacity, cfg.OutputBell = stepOutputs, nil
	e, err := New(cfg, syms)
	if err != nil {
		return nil, err
	}
	s := e.shards[0]
	return &Step{s: s, cons: s.out.ring.Consumer(0)}, nil
}

// Process applies evs in order and calls emit with each record produced
// (nil emit discards them). The record is valid only during the call. The
// counters are published after the records are emitted: an emit sees its
// record as soon as it is enqueued.
func (st *Step) Process(evs []tick.Event, emit func(*tick.Out)) {
	for len(evs) > 0 {
		n := min(len(evs), stepChunk)
		st.s.apply(evs[:n])
		evs = evs[n:]
		for out := st.cons.Poll(); len(out) > 0; out = st.cons.Poll() {
			if emit != nil {
				for i := range out {
					emit(&out[i])
				}
			}
			st.cons.Release(len(out))
		}
		st.s.publish()
	}
}

// Counters returns the running totals.
func (st *Step) Counters() Counters {
	var c Counters
	st.s.addCounters(&c)
	return c
}
