package book

import (
	"fmt"

	"github.com/tickd/tickd/tick"
)

// check panics if the book of sym is inconsistent: a non-positive quantity, a
// level whose totals differ from its orders, a broken FIFO list, unsorted or
// empty levels, an order the table does not point at, or a wrong cross state.
// Apply calls it after every change when built with -tags invariants.
func (b *Books) check(sym tick.SymbolID) {
	if err := b.checkBook(sym); err != nil {
		panic(err)
	}
}

func (b *Books) checkBook(sym tick.SymbolID) error {
	bk := &b.books[sym]
	live := 0
	for si := range bk.sides {
		lv := bk.sides[si].levels
		for i := range lv {
			l := &lv[i]
			if i > 0 && lv[i-1].key >= l.key {
				return fmt.Errorf("book: symbol %d side %d: levels not sorted at %d", sym, si, i)
			}
			if l.orders == 0 || l.shares <= 0 {
				return fmt.Errorf("book: symbol %d side %d: empty level %d", sym, si, i)
			}
			var shares int64
			var n uint32
			prev := uint32(0)
			for o := l.head; o != 0; o = b.orders[o].next {
				ord := &b.orders[o]
				if ord.prev != prev {
					return fmt.Errorf("book: order %d: prev link broken", ord.ref)
				}
				if ord.qty == 0 {
					return fmt.Errorf("book: order %d: zero quantity", ord.ref)
				}
				if ord.sym() != sym || ord.sideIdx() != si || keyOf(si, ord.price) != l.key {
					return fmt.Errorf("book: order %d: in the wrong level", ord.ref)
				}
				if _, idx := b.refs.find(ord.ref, b.orders); idx != o {
					return fmt.Errorf("book: order %d: index points at %d, not %d", ord.ref, idx, o)
				}
				shares += int64(ord.qty)
				n++
				prev = o
				if n > l.orders {
					return fmt.Errorf("book: symbol %d: level %d has more orders than counted", sym, l.key)
				}
			}
			if prev != l.tail || n != l.orders || shares != l.shares {
				return fmt.Errorf("book: symbol %d side %d level %d: totals %d/%d, orders sum %d/%d",
					sym, si, l.key, l.shares, l.orders, shares, n)
			}
			live += int(n)
		}
	}
	if live != bk.live {
		return fmt.Errorf("book: symbol %d: %d orders in levels, %d counted", sym, live, bk.live)
	}
	if bk.cross != bk.crossState() {
		return fmt.Errorf("book: symbol %d: stale cross state", sym)
	}
	return nil
}

// checkAll checks every book and that the index and the slab agree: every
// index entry names a live slab order with that reference and is found by
// a lookup, and the number of live orders equals the index's count.
// O(index + slab); tests call it.
func (b *Books) checkAll() error {
	total := 0
	for s := range b.books {
		if !b.books[s].known {
			continue
		}
		if err := b.checkBook(tick.SymbolID(s)); err != nil {
			return err
		}
		total += b.books[s].live
	}
	n := 0
	err := b.refs.each(b.orders, func(ref uint64, idx uint32) error {
		n++
		if int(idx) >= len(b.orders) || b.orders[idx].ref != ref || b.orders[idx].qty == 0 {
			return fmt.Errorf("book: index entry ref %d disagrees with the slab", ref)
		}
		if _, found := b.refs.find(ref, b.orders); found != idx {
			return fmt.Errorf("book: ref %d not found where it is", ref)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if b.refs.tab.count > 0 && b.refs.tabMax < b.refs.tabMaxSeen() {
		return fmt.Errorf("book: table holds ref %d above its bound %d", b.refs.tabMaxSeen(), b.refs.tabMax)
	}
	free := 0
	for o := b.free; o != 0; o = b.orders[o].next {
		free++
		if free > len(b.orders) {
			return fmt.Errorf("book: free list loops")
		}
	}
	if n != b.refs.count() || n != total || n+free != len(b.orders)-1 {
		return fmt.Errorf("book: index %d/%d entries, books %d orders, slab %d used + %d free",
			n, b.refs.count(), total, len(b.orders)-1, free)
	}
	return nil
}
