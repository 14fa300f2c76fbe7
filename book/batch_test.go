package book

import (
	"slices"
	"testing"

	"github.com/tickd/tickd/tick"
)

// TestApplyBatchMatchesApply feeds one stream to two Books, one event at a time
// and in batches of varying size, and requires identical results and books.
func TestApplyBatchMatchesApply(t *testing.T) {
	const syms = 16
	one, _ := New(Options{ExpectedOrders: 1 << 12})
	many, _ := New(Options{ExpectedOrders: 1 << 12})
	g := newGen(9, syms, 5000, 20)
	evs := make([]tick.Event, 100)
	res := make([]Result, len(evs))
	for round := range 1000 {
		n := 1 + round%len(evs)
		for i := range evs[:n] {
			g.next(&evs[i])
		}
		many.ApplyBatch(evs[:n], res)
		for i := range evs[:n] {
			if r := one.Apply(&evs[i]); r != res[i] {
				t.Fatalf("round %d event %d: Apply %+v, ApplyBatch %+v", round, i, r, res[i])
			}
		}
	}
	if one.Counters() != many.Counters() || one.Orders() != many.Orders() {
		t.Fatalf("counters differ:\n%v\n%v", one.Counters(), many.Counters())
	}
	a, b := make([]Level, 1000), make([]Level, 1000)
	for s := range tick.SymbolID(syms) {
		for _, side := range []tick.Side{tick.SideBuy, tick.SideSell} {
			if !slices.Equal(a[:one.Book(s).Depth(side, a)], b[:many.Book(s).Depth(side, b)]) {
				t.Fatalf("symbol %d %v: depth differs", s, side)
			}
		}
	}
	if err := many.checkAll(); err != nil {
		t.Fatal(err)
	}
}

// FuzzApply decodes 8 bytes per event over a tiny space of refs, prices and
// symbols (so collisions, replaces onto live refs and bad quantities are
// common), applies them, and checks Books against the reference.
func FuzzApply(f *testing.F) {
	f.Add([]byte{3, 1, 0, 1, 4, 10, 0, 0, 3, 2, 0, 2, 3, 10, 0, 0, 4, 1, 0, 0, 0, 20, 0, 0})
	f.Add([]byte{3, 1, 0, 1, 4, 10, 0, 0, 7, 1, 1, 0, 5, 7, 0, 0, 7, 1, 1, 0, 5, 7, 0, 0})
	f.Add([]byte{3, 5, 0, 2, 1, 0xff, 1, 0, 5, 5, 0, 0, 0, 3, 1, 0, 6, 5, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 4, 10, 2, 0, 12, 0, 0, 0, 0, 0, 2, 0, 15, 0, 0, 0, 0, 'H', 2, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, _ := New(Options{ExpectedOrders: 2, Symbols: 1, LevelsPerSide: 1})
		r := newRefBook()
		for ; len(data) >= 8; data = data[8:] {
			ev := tick.Event{
				Kind:     tick.Kind(data[0] % 16),
				OrderRef: uint64(data[1] % 16),
				NewRef:   uint64(data[2] % 16),
				Side:     tick.Side(data[3] % 3),
				Price:    tick.Price(data[4]%8) * genTick,
				Qty:      int64(int8(data[5])),
				Symbol:   tick.SymbolID(data[6] % 3),
			}
			b.Apply(&ev)
			r.apply(&ev)
		}
		if err := b.checkAll(); err != nil {
			t.Fatal(err)
		}
		if err := compareBooks(b, r, 3); err != nil {
			t.Fatal(err)
		}
	})
}
