package book

import (
	"runtime"
	"testing"

	"github.com/tickd/tickd/tick"
)

// liveOrderBytes builds Books holding n live orders (over 64 symbols, levels
// near each mid) and returns the heap bytes per live order, all-in: slab,
// table, levels and books, measured with runtime.MemStats.
func liveOrderBytes(tb testing.TB, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := New(Options{ExpectedOrders: n})
	if err != nil {
		tb.Fatal(err)
	}
	g := newGen(7, 64, n, 0)
	var ev tick.Event
	for range n {
		g.add(&ev)
		if r := b.Apply(&ev); r.Flags&FlagRejected != 0 {
			tb.Fatalf("add rejected: %v", r.Reason)
		}
	}
	g = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	if b.Orders() != n || b.Count(ReasonGrowTable)+b.Count(ReasonGrowSlab) != 0 {
		tb.Fatalf("orders %d, growth %v", b.Orders(), b.Counters())
	}
	runtime.KeepAlive(b)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}
