package book

import "github.com/tickd/tickd/internal/hugepage"

// index maps order references to slab indices: a direct-mapped window in
// front of the hash table.
//
// NASDAQ numbers orders in sequence through the day, and most cancels,
// executions and replaces name orders added seconds before. The window is
// an array of slab indices, one per reference mod its size: consecutive
// references share cache lines, a lookup is one load with no hash and no
// probe (the order found is checked against the reference in the slab,
// which the caller reads next anyway), and a removal clears one word where
// the table shifts a probe run back. Adding a reference whose slot holds a
// live order moves that order (the older, in a sequential feed) to the
// table, so the window holds the newest order of each residue and the
// table those that outlived it.
//
// The table is searched only for a reference at or below tabMax, an upper
// bound of the references it holds: in a sequential feed, the add of a new
// reference never probes it. A feed whose references are not sequential
// still works, the table holding more of its orders.
type index struct {
	win     []uint32 // slab index of the order in each slot, 0 = empty
	winMask uint64
	inWin   int    // live entries in win
	tab     table  // the references win does not hold
	tabMax  uint64 // every reference in tab is ≤ tabMax; 0 when tab is empty
}

// locWin marks a loc (what find returns and insertAt and deleteAt take)
// as a window slot; without it a loc is a table position.
const locWin = 1 << 63

// newIndex returns an index for about orders live orders: a window of the
// power of two ≥ 4 × orders entries and a table of orders slots.
func newIndex(orders int) index {
	n := 8
	for n < 4*orders {
		n <<= 1
	}
	x := index{win: make([]uint32, n), winMask: uint64(n - 1), tab: newTable(orders)}
	hugepage.Advise(x.win)
	return x
}

// count returns the number of live references.
func (x *index) count() int { return x.inWin + x.tab.count }

// find returns where ref is and its slab index, or, with idx 0, the window
// slot where insertAt puts it (a new reference always goes to the window).
// A window slot's order is checked against ref in the slab, which the
// caller reads next anyway.
func (x *index) find(ref uint64, orders []order) (loc uint64, idx uint32) {
	s := ref & x.winMask
	if i := x.win[s]; i != 0 && orders[i].ref == ref {
		return s | locWin, i
	}
	if ref > x.tabMax || x.tab.count == 0 {
		return s | locWin, 0
	}
	if pos, idx := x.tab.find(ref); idx != 0 {
		return pos, idx
	}
	return s | locWin, 0
}

// reserve makes room for one insertAt: call it before the find whose loc
// insertAt will take (growing the table moves its entries). It reports
// whether the table grew, which it does at load 3/4.
func (x *index) reserve() bool { return x.growAt(3, 4) }

// maintain grows the table early, at load 1/2, so that reserve need not
// (off the hot path). It reports whether the table grew.
func (x *index) maintain() bool { return x.growAt(1, 2) }

// growAt doubles the table if one more entry would take its load above
// num/den, and reports whether it did.
func (x *index) growAt(num, den int) bool {
	if x.tab.overLoaded(num, den) {
		x.tab.grow()
		return true
	}
	return false
}

// insertAt enters ref, which find reported absent at the window slot loc,
// with slab index idx. The slot's live occupant, if any, moves to the
// table (reserve made room for it).
func (x *index) insertAt(loc, ref uint64, idx uint32, orders []order) {
	s := loc &^ locWin
	if old := x.win[s]; old != 0 {
		oldRef := orders[old].ref
		pos, _ := x.tab.find(oldRef)
		x.tab.insertAt(pos, oldRef, old)
		x.tabMax = max(x.tabMax, oldRef)
		x.inWin--
	}
	x.win[s] = idx
	x.inWin++
}

// deleteAt removes the reference find reported at loc.
func (x *index) deleteAt(loc uint64) {
	if loc&locWin != 0 {
		x.win[loc&^locWin] = 0
		x.inWin--
		return
	}
	x.tab.deleteAt(loc)
	if x.tab.count == 0 {
		x.tabMax = 0
	}
}

// each calls f for every live reference, in no particular order, until f
// returns an error (for checks; not the hot path).
func (x *index) each(orders []order, f func(ref uint64, idx uint32) error) error {
	for _, i := range x.win {
		if i != 0 {
			if err := f(orders[i].ref, i); err != nil {
				return err
			}
		}
	}
	for _, s := range x.tab.slots {
		if s.idx != 0 {
			if err := f(s.ref, s.idx); err != nil {
				return err
			}
		}
	}
	return nil
}

// tabMaxSeen returns the largest reference in the table (for checks).
func (x *index) tabMaxSeen() uint64 {
	var m uint64
	for _, s := range x.tab.slots {
		if s.idx != 0 {
			m = max(m, s.ref)
		}
	}
	return m
}
