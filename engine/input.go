package engine

import (
	"fmt"

	"github.com/tickd/tickd/tick"
)

// scratchEvents is the size of the decode batch an Input hands out when
// the engine has several shards.
const scratchEvents = 256

// Input is where one source (a connection, a file) writes its events. It
// has the method set of feed.Sink. Claim, Commit and Close must be called
// from one goroutine.
//
// Each Input owns one SPSC ring per shard. With one shard, Claim hands out
// slots of that ring and the source decodes straight into them (no copy).
// With several, Claim hands out a small scratch batch and Commit copies each
// event into the ring of its symbol's shard, keeping the order of each
// symbol's events; an end-of-stream event goes to every shard, where it
// flushes the symbols this Input fed last. An inline
// engine's Input (Config.Emit) has no ring: Commit applies the scratch
// batch itself.
type Input struct {
	e       *Engine
	source  string
	id      uint32       // unique among the engine's Inputs; from 1
	rings   []*eventRing // one per shard
	scratch []tick.Event // several shards: the decode batch
	dst     [][]tick.Event
	used    []int
	closed  bool
	drop    bool          // Backpressure Drop: a full ring drops instead of waiting
	void    []tick.Event  // Drop, one shard: where a batch goes when its ring is full
	voided  bool          // the last Claim handed out void
	claimed []tick.Event  // the last Claim's slots, for the partition filter
	done    chan struct{} // an inline engine's input (Config.Emit): closed by Close
}

// Backpressure is what an Input does when the engine is behind and its ring
// is full.
type Backpressure uint8

// Backpressure policies.
const (
	// Block makes the source wait (lossless): the default, and the right
	// one for TCP sources and replays, whose sender slows down in turn.
	Block Backpressure = iota
	// Drop drops the newest events and counts them (Counters.Dropped): for
	// live UDP, which cannot be slowed down and must not stall the socket.
	Drop
)

// ParseBackpressure parses "block" or "drop".
func ParseBackpressure(s string) (Backpressure, error) {
	switch s {
	case "block":
		return Block, nil
	case "drop":
		return Drop, nil
	}
	return 0, fmt.Errorf("engine: backpressure %q: want block or drop", s)
}

func (b Backpressure) String() string {
	if b == Drop {
		return "drop"
	}
	return "block"
}

// Source returns the name the Input was created with.
func (in *Input) Source() string { return in.source }

// Claim returns 1..n slots to decode events into, waiting while the engine
// is behind. It returns nil once the engine is shutting down (the source
// should then Close) or the Input is closed. The slots stay valid until
// the next Commit, and events not committed by then are dropped.
func (in *Input) Claim(n int) []tick.Event {
	in.claimed = in.claim(n)
	return in.claimed
}

func (in *Input) claim(n int) []tick.Event {
	if in.closed || in.e.stopping.Load() {
		return nil
	}
	if len(in.rings) == 1 {
		if !in.drop {
			return in.rings[0].Reserve(n)
		}
		if b := in.rings[0].TryReserve(n); b != nil {
			in.voided = false
			return b
		}
		in.voided = true // full: this batch is decoded and dropped
		return in.void[:max(1, min(n, len(in.void)))]
	}
	return in.scratch[:max(1, min(n, len(in.scratch)))]
}

// Commit publishes the first k slots of the last Claim, in order; the
// rest are dropped. k beyond what that Claim returned, or a Commit with no
// Claim since the last one, panics.
func (in *Input) Commit(k int) {
	claimed := in.claimed
	if uint(k) > uint(len(claimed)) {
		in.badCommit(k)
	}
	in.claimed = nil
	if in.e.owners != nil {
		k = in.e.owners.keep(claimed[:k])
	}
	if in.done != nil {
		in.commitInline(in.scratch[:k])
		return
	}
	if len(in.rings) == 1 {
		if in.voided {
			in.e.dropped.Add(uint64(k))
			return
		}
		in.rings[0].Commit(k)
		return
	}
	in.route(in.scratch[:k])
}

// badCommit panics for a Commit beyond the last Claim: the scratch batch
// of a multi-shard or inline Input would otherwise publish stale events.
func (in *Input) badCommit(k int) {
	panic(fmt.Sprintf("engine: input %q: Commit(%d) with %d slots claimed", in.source, k, len(in.claimed)))
}

// Close tells the engine this source is done; the engine drains what was
// committed. No calls may follow; a second Close does nothing.
func (in *Input) Close() {
	if in.closed {
		return
	}
	in.closed = true
	if in.done != nil {
		in.closeInline()
		return
	}
	for _, r := range in.rings {
		r.Close()
	}
}

// route copies evs into the rings of their shards (symbol id mod shards).
// It holds a reservation on each ring it writes and commits them all at the
// end, so each shard sees the batch's events for it as one batch.
func (in *Input) route(evs []tick.Event) {
	nsh := uint32(len(in.rings))
	for i := range evs {
		ev := &evs[i]
		if ev.Kind == tick.KindEndOfStream {
			for s := range in.rings {
				in.put(s, ev, len(evs)-i)
			}
			continue
		}
		in.put(int(uint32(ev.Symbol)%nsh), ev, len(evs)-i)
	}
	for s, r := range in.rings {
		if in.used[s] > 0 {
			r.Commit(in.used[s])
		}
		in.dst[s], in.used[s] = nil, 0
	}
}

// put appends ev to shard s's reservation, reserving up to left more slots
// when it is full.
func (in *Input) put(s int, ev *tick.Event, left int) {
	if in.used[s] == len(in.dst[s]) {
		if in.used[s] > 0 {
			in.rings[s].Commit(in.used[s])
		}
		if in.drop {
			in.dst[s], in.used[s] = in.rings[s].TryReserve(left), 0
			if in.dst[s] == nil { // full (or closed, which no call follows)
				in.e.dropped.Add(1)
				return
			}
		} else {
			in.dst[s], in.used[s] = in.rings[s].Reserve(left), 0
			if in.dst[s] == nil {
				return // closed: only Close closes it, and no call follows Close
			}
		}
	}
	in.dst[s][in.used[s]] = *ev
	in.used[s]++
}

// Committed appends to dst, per shard, the ring position after the events
// committed so far: a mark to pass to Consumed. Call it from the source's
// goroutine, after a Commit. (The Kafka source commits offsets only for
// events whose outputs are published.)
func (in *Input) Committed(dst []int64) []int64 {
	for _, r := range in.rings {
		dst = append(dst, r.Published())
	}
	return dst
}

// Consumed reports whether the engine has processed every event up to pos
// (from Committed): the shards commit an event's outputs to their output
// rings before they release it, so those outputs are then on the way to the
// publisher. Any goroutine; two atomic loads per shard.
func (in *Input) Consumed(pos []int64) bool {
	for i, r := range in.rings {
		if r.Released() < pos[i] {
			return false
		}
	}
	return true
}
