package engine

import (
	"fmt"
	"sync/atomic"

	"github.com/tickd/tickd/tick"
)

// Partition splits the symbols of one feed between Count tickd instances
// (`tickd serve -shard Index/Count`): each reads the whole feed and keeps
// the events of the symbols it owns, those with
//
//	PartitionOf(name, Count) == Index
//
// Every other event is dropped as the source commits it, before the rings,
// the books and the statistics, and counted in Counters.NotOwned (not a
// loss: another instance owns it). The zero value (Count 0 or 1) owns
// every symbol. Not to be confused with Config.Shards, the engine
// goroutines of one instance.
type Partition struct {
	Index, Count int
}

func (p Partition) validate() error {
	if p.Count < 0 || p.Index < 0 || (p.Count > 0 && p.Index >= p.Count) || (p.Count == 0 && p.Index != 0) {
		return fmt.Errorf("engine: partition %d/%d: want 0 ≤ index < count", p.Index, p.Count)
	}
	return nil
}

// PartitionOf returns the partition of n (0 … n−1) that owns the symbol
// named name: the 32-bit FNV-1a hash of the name's bytes (as the feed
// spells it, before any subject mapping: "BRK.A", not "BRK_A") mod n. It is
// stable across runs, processes and machines; n ≤ 1 gives 0.
//
//	symbol  FNV-1a 32   mod 2  mod 3  mod 4
//	AAPL    0x58cd330b  1      1      3
//	AMZN    0x4148cebf  1      0      3
//	BRK.A   0xbd6928a7  1      0      3
//	IBM     0xe1b9164d  1      2      1
//	META    0x2bb7fd98  0      1      0
//	NVDA    0x9a7421d6  0      1      2
//	QQQ     0x34c46072  0      2      2
func PartitionOf(name string, n int) int {
	if n <= 1 {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// Two bits per symbol ID in owners: decided, then owned.
const (
	ownDecided = 1
	ownOwned   = 2
)

// owners decides, once per symbol ID, whether this instance owns it, and
// drops the events of the symbols it does not. Any source goroutine may
// decide an ID: the answer depends on the name only, so racing deciders
// store the same bits.
type owners struct {
	part     Partition
	table    *tick.SymbolTable
	bits     []atomic.Uint32 // 16 IDs per word, 2 bits each
	notOwned atomic.Uint64
}

// newOwners returns nil when p owns every symbol: Commit then skips the filter.
func newOwners(p Partition, table *tick.SymbolTable) *owners {
	if p.Count <= 1 {
		return nil
	}
	return &owners{part: p, table: table, bits: make([]atomic.Uint32, (table.Cap()+15)/16)}
}

// owns reports whether id is this instance's; IDs beyond the table are
// kept for the engine to reject.
func (o *owners) owns(id tick.SymbolID) bool {
	w := uint32(id) / 16
	if w >= uint32(len(o.bits)) {
		return true
	}
	shift := uint32(id) % 16 * 2
	b := o.bits[w].Load() >> shift
	if b&ownDecided == 0 { // the first event of id: the edge
		b = o.decide(id, w, shift)
	}
	return b&ownOwned != 0
}

func (o *owners) decide(id tick.SymbolID, w, shift uint32) uint32 {
	name := o.table.Name(id)
	if name == "" { // not interned (a bad ID): keep it for the engine to reject
		return ownDecided | ownOwned
	}
	b := uint32(ownDecided)
	if PartitionOf(name, o.part.Count) == o.part.Index {
		b |= ownOwned
	}
	o.bits[w].Or(b << shift)
	return b
}

// keep moves the events of evs this instance owns to its front, in order,
// and returns how many there are. Events without a symbol (system events,
// end of stream) are kept.
func (o *owners) keep(evs []tick.Event) int {
	k := 0
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != tick.KindEndOfStream && ev.Kind != tick.KindSystem && ev.Kind != tick.KindNone && !o.owns(ev.Symbol) {
			continue
		}
		if k != i {
			evs[k] = *ev
		}
		k++
	}
	if k < len(evs) {
		o.notOwned.Add(uint64(len(evs) - k))
	}
	return k
}
