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
// straight computation, tools that process a file in-process, and the
// inline engine (Config.Emit). Its results are those an Engine with one
// shard produces from the same events through one Input.
type Step struct {
	s    *shard
	cons *ringbuf.Consumer[tick.Out]
	emit func(*tick.Out) // Process's or Flush's, while it runs
}

// stepOutputs is the capacity of a Step's output ring; the outbox hands
// what it holds to emit whenever it needs room (Step.drain), so a batch
// may produce any number of records. Small, so the slots stay in cache: a
// tick.Out is 312 bytes (~270 when this was measured), and with 16384
// slots (4.4 MB then) each record went to lines long evicted; ~15% of
// fused signals then took ~100 ns more (tickd bench -inproc -fused: p90
// 160 ns, 70 ns with 128 slots).
const stepOutputs = 2 * outReserve

// NewStep returns a Step for cfg (Shards must be 0 or 1; OutputCapacity,
// Wait, OutputBell and Emit are ignored). A Partition of more than one
// instance is refused: an Engine drops the others' events as its Inputs
// commit them, and a Step has no Input, so the caller drops them (by
// PartitionOf) before Process.
func NewStep(cfg Config, syms *tick.SymbolTable) (*Step, error) {
	if syms == nil {
		return nil, errors.New("engine: nil symbol table")
	}
	if cfg.Shards > 1 {
		return nil, fmt.Errorf("engine: a Step is one shard, not %d", cfg.Shards)
	}
	if cfg.Partition.Count > 1 {
		return nil, fmt.Errorf("engine: a Step does not filter by partition (%d/%d): drop the events of symbols it does not own before Process",
			cfg.Partition.Index, cfg.Partition.Count)
	}
	cfg.Emit = nil
	cfg.OutputCapacity, cfg.OutputBell = stepOutputs, nil
	e, err := New(cfg, syms)
	if err != nil {
		return nil, err
	}
	return newStep(e.shards[0]), nil
}

// newStep drives s from its caller's goroutine. s's output ring must have
// no other consumer.
func newStep(s *shard) *Step {
	st := &Step{s: s, cons: s.out.ring.Consumer(0)}
	s.out.drain = st.drain
	return st
}

// Process applies evs in order and calls emit with each record produced
// (nil emit discards them). The record is valid only during the call. The
// counters are published after the records are emitted: an emit sees its
// record as soon as it is enqueued.
func (st *Step) Process(evs []tick.Event, emit func(*tick.Out)) {
	st.emit = emit
	st.s.apply(evs)
	st.drain()
	st.s.publish()
	st.emit = nil
}

// Flush publishes, as at the end of a stream, every open bar (with its
// tick.Stats) and every BBO change held back, and calls emit with each.
func (st *Step) Flush(emit func(*tick.Out)) {
	st.emit = emit
	st.s.flushAll()
	st.s.out.commit()
	st.drain()
	st.s.publish()
	st.emit = nil
}

// drain hands every committed record to st.emit and releases it: after a
// batch, and from the outbox whenever it needs room mid-batch.
func (st *Step) drain() {
	for out := st.cons.Poll(); len(out) > 0; out = st.cons.Poll() {
		if st.emit != nil {
			for i := range out {
				st.emit(&out[i])
			}
		}
		st.cons.Release(len(out))
	}
}

// Counters returns the running totals.
func (st *Step) Counters() Counters {
	var c Counters
	st.s.addCounters(&c)
	return c
}
