package book

import (
	"testing"

	"github.com/tickd/tickd/tick"
)

// addRef adds a one-share bid for ref on symbol 0, failing the test if it is rejected.
func addRef(t *testing.T, b *Books, ref uint64) {
	t.Helper()
	ev := tick.Event{Kind: tick.KindAdd, OrderRef: ref, Side: tick.SideBuy, Price: 100 * genTick, Qty: 1}
	if r := b.Apply(&ev); r.Flags&FlagRejected != 0 {
		t.Fatalf("add %d rejected: %v", ref, r.Reason)
	}
}

// TestIndexSharedSlot: references with the same window slot (books sized
// for 4 orders: a 16-slot window) — the newest in the window, the older
// in the table — are each found, removed from either half, and the slot
// reused.
func TestIndexSharedSlot(t *testing.T) {
	b, err := New(Options{ExpectedOrders: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []uint64{1, 17, 33} {
		addRef(t, b, ref)
	}
	if x := &b.refs; x.inWin != 1 || x.tab.count != 2 || x.tabMax != 17 {
		t.Fatalf("window %d, table %d (max %d); want 1, 2 (17)", x.inWin, x.tab.count, x.tabMax)
	}
	del := func(ref uint64) {
		ev := tick.Event{Kind: tick.KindDelete, OrderRef: ref}
		if r := b.Apply(&ev); r.Flags&FlagRejected != 0 {
			t.Fatalf("delete %d rejected: %v", ref, r.Reason)
		}
	}
	del(17) // from the table
	del(33) // from the window
	addRef(t, b, 49)
	for ref, want := range map[uint64]bool{1: true, 17: false, 33: false, 49: true} {
		if _, ok := b.Order(ref); ok != want {
			t.Errorf("Order(%d) found %v, want %v", ref, ok, want)
		}
	}
	ev := tick.Event{Kind: tick.KindAdd, OrderRef: 1, Side: tick.SideSell, Price: 101 * genTick, Qty: 1}
	if r := b.Apply(&ev); r.Reason != ReasonDuplicateRef {
		t.Errorf("add of live ref 1 (in the table): %+v, want a duplicate", r)
	}
	if err := b.checkAll(); err != nil {
		t.Fatal(err)
	}
}

// TestMaintainGrowsAtHalfLoad: Maintain grows the table once it is half
// full, before an Apply would (at three quarters), and only then.
func TestMaintainGrowsAtHalfLoad(t *testing.T) {
	b, err := New(Options{ExpectedOrders: 4}) // a 16-slot window, an 8-slot table
	if err != nil {
		t.Fatal(err)
	}
	for k := range 4 { // one window slot: three in the table
		addRef(t, b, uint64(1+16*k))
	}
	if b.Maintain() {
		t.Fatal("Maintain grew a table 3/8 full")
	}
	addRef(t, b, 1+16*4) // four: half
	if !b.Maintain() || b.Maintain() {
		t.Fatal("Maintain should grow a half-full table once")
	}
	if len(b.refs.tab.slots) != 16 || b.Count(ReasonGrowTable) != 1 {
		t.Fatalf("table %d slots, grow_table %d; want 16, 1", len(b.refs.tab.slots), b.Count(ReasonGrowTable))
	}
	if err := b.checkAll(); err != nil {
		t.Fatal(err)
	}
}
