package book

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/tickd/tickd/tick"
)

// refBook is the naive reference: Go maps for orders and levels, sorting on
// every query. It defines the semantics Books must match (and is the
// benchmark baseline).
type refBook struct {
	orders map[uint64]*refOrder
	levels map[refKey]*refLevel
	counts [reasonCount]uint64
	seq    uint64
}

type refOrder struct {
	sym   tick.SymbolID
	side  tick.Side
	price tick.Price
	qty   int64
	seq   uint64
}

type refKey struct {
	sym   tick.SymbolID
	side  tick.Side
	price tick.Price
}

type refLevel struct {
	shares int64
	orders int
}

func newRefBook() *refBook {
	return &refBook{orders: map[uint64]*refOrder{}, levels: map[refKey]*refLevel{}}
}

func (r *refBook) insert(ref uint64, o *refOrder) {
	r.seq++
	o.seq = r.seq
	r.orders[ref] = o
	k := refKey{o.sym, o.side, o.price}
	l := r.levels[k]
	if l == nil {
		l = &refLevel{}
		r.levels[k] = l
	}
	l.shares += o.qty
	l.orders++
}

// take removes q shares (all if q >= qty) from ref.
func (r *refBook) take(ref uint64, o *refOrder, q int64) {
	k := refKey{o.sym, o.side, o.price}
	l := r.levels[k]
	q = min(q, o.qty)
	o.qty -= q
	l.shares -= q
	if o.qty == 0 {
		delete(r.orders, ref)
		if l.orders--; l.orders == 0 {
			delete(r.levels, k)
		}
	}
}

func validOrder(p tick.Price, q int64) bool { return q > 0 && q <= math.MaxUint32 && p > 0 }

// apply returns the trade it reports (qty 0 if none) and whether it is printable.
func (r *refBook) apply(ev *tick.Event) (tick.Price, int64, bool) {
	switch ev.Kind {
	case tick.KindAdd:
		if ev.Side == tick.SideNone || !validOrder(ev.Price, ev.Qty) {
			r.counts[ReasonBadOrder]++
		} else if r.orders[ev.OrderRef] != nil {
			r.counts[ReasonDuplicateRef]++
		} else {
			r.insert(ev.OrderRef, &refOrder{sym: ev.Symbol, side: ev.Side, price: ev.Price, qty: ev.Qty})
		}
	case tick.KindExecute, tick.KindExecutePrice, tick.KindExecuteNoPrint, tick.KindCancel:
		o := r.orders[ev.OrderRef]
		if o == nil {
			r.counts[unknownReason(ev.Kind)]++
			return 0, 0, false
		}
		if ev.Qty <= 0 {
			r.counts[ReasonBadOrder]++
			return 0, 0, false
		}
		if ev.Qty > o.qty {
			r.counts[ReasonOverfill]++
		}
		q, p := min(ev.Qty, o.qty), o.price
		r.take(ev.OrderRef, o, q)
		switch ev.Kind {
		case tick.KindExecute:
			return p, q, true
		case tick.KindExecutePrice:
			return ev.Price, q, true
		case tick.KindExecuteNoPrint:
			return ev.Price, q, false
		}
	case tick.KindDelete:
		if o := r.orders[ev.OrderRef]; o == nil {
			r.counts[ReasonUnknownDelete]++
		} else {
			r.take(ev.OrderRef, o, o.qty)
		}
	case tick.KindReplace:
		o := r.orders[ev.OrderRef]
		if o == nil {
			r.counts[ReasonUnknownReplace]++
			return 0, 0, false
		}
		r.take(ev.OrderRef, o, o.qty)
		switch {
		case !validOrder(ev.Price, ev.Qty):
			r.counts[ReasonBadOrder]++
		case r.orders[ev.NewRef] != nil:
			r.counts[ReasonDuplicateRef]++
		default:
			r.insert(ev.NewRef, &refOrder{sym: o.sym, side: o.side, price: ev.Price, qty: ev.Qty})
		}
	case tick.KindTrade, tick.KindCrossTrade:
		if ev.Qty > 0 {
			return ev.Price, ev.Qty, true
		}
	}
	return 0, 0, false
}

// depth returns every level of sym's side, best first.
func (r *refBook) depth(sym tick.SymbolID, side tick.Side) []Level {
	var out []Level
	for k, l := range r.levels {
		if k.sym == sym && k.side == side {
			out = append(out, Level{k.price, l.shares, l.orders})
		}
	}
	slices.SortFunc(out, func(a, b Level) int {
		if side == tick.SideBuy {
			return int(b.Price - a.Price)
		}
		return int(a.Price - b.Price)
	})
	return out
}

// queue returns the refs resting at the level in time priority.
func (r *refBook) queue(k refKey) []uint64 {
	var refs []uint64
	for ref, o := range r.orders {
		if o.sym == k.sym && o.side == k.side && o.price == k.price {
			refs = append(refs, ref)
		}
	}
	slices.SortFunc(refs, func(a, b uint64) int { return int(r.orders[a].seq) - int(r.orders[b].seq) })
	return refs
}

func compareBooks(b *Books, r *refBook, syms int) error {
	buf := make([]Level, 4096)
	for s := range syms {
		sym := tick.SymbolID(s)
		bk := b.Book(sym)
		for _, side := range []tick.Side{tick.SideBuy, tick.SideSell} {
			want := r.depth(sym, side)
			var got []Level
			if bk != nil {
				got = buf[:bk.Depth(side, buf)]
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("symbol %d %v depth:\n got %v\nwant %v", s, side, got, want)
			}
			if len(want) > 0 {
				k := refKey{sym, side, want[0].Price}
				if g, w := b.Queue(sym, side, k.price, nil), r.queue(k); !slices.Equal(g, w) {
					return fmt.Errorf("symbol %d %v best queue: got %v want %v", s, side, g, w)
				}
			}
		}
	}
	if b.Orders() != len(r.orders) {
		return fmt.Errorf("orders %d, want %d", b.Orders(), len(r.orders))
	}
	for _, why := range []Reason{ReasonUnknownExecute, ReasonUnknownCancel, ReasonUnknownDelete,
		ReasonUnknownReplace, ReasonOverfill, ReasonDuplicateRef, ReasonBadOrder} {
		if b.Count(why) != r.counts[why] {
			return fmt.Errorf("count %v = %d, want %d", why, b.Count(why), r.counts[why])
		}
	}
	return nil
}

// rankDepth is how many levels per side TestAgainstReference checks
// Result.Rank against.
const rankDepth = 8

// checkRank checks Result.Rank against the book's depth before and after
// the event: the best rank levels of each side are unchanged and, but for
// a replace (which may take an order off a level and put one back on it),
// the best rank+1 of one side changed.
func checkRank(bk *Book, rank uint16, kind tick.Kind, before *[2][rankDepth]Level, nBefore [2]int) error {
	var after [2][rankDepth]Level
	nAfter := [2]int{bk.Depth(tick.SideBuy, after[0][:]), bk.Depth(tick.SideSell, after[1][:])}
	top := func(d *[rankDepth]Level, n, k int) []Level { return d[:min(n, k)] }
	changed := false
	for side := range 2 {
		k := min(int(rank), rankDepth)
		if !slices.Equal(top(&before[side], nBefore[side], k), top(&after[side], nAfter[side], k)) {
			return fmt.Errorf("rank %d, but side %d changed above it: %v -> %v", rank, side,
				top(&before[side], nBefore[side], k), top(&after[side], nAfter[side], k))
		}
		if k := int(rank) + 1; k <= rankDepth &&
			!slices.Equal(top(&before[side], nBefore[side], k), top(&after[side], nAfter[side], k)) {
			changed = true
		}
	}
	if !changed && int(rank) < rankDepth && kind != tick.KindReplace {
		return fmt.Errorf("rank %d, but neither side changed at it", rank)
	}
	return nil
}

// TestAgainstReference runs long random streams (fixed seeds) through Books and
// the reference, checking every trade and every BBO flag against the tops, and the full depth, best
// queues and counters every 997 messages. Books are undersized (growth
// paths too, and orders moving from the index's window to its table) or
// roomy; references come in sequence, as NASDAQ numbers them, or scrambled.
func TestAgainstReference(t *testing.T) {
	const msgs, syms = 200_000, 8
	cases := []struct {
		seed   uint64
		orders int
		refs   refNumbering
	}{
		{1, 256, refsSequential}, {2, 256, refsSequential}, {3, 256, refsSequential}, {4, 8192, refsSequential},
		{5, 256, refsScrambled32}, {6, 8192, refsScrambled32}, {7, 256, refsScrambled64},
	}
	for _, c := range cases {
		seed := c.seed
		t.Run(fmt.Sprintf("seed%d/orders=%d/refs=%v", seed, c.orders, c.refs), func(t *testing.T) {
			b, err := New(Options{ExpectedOrders: c.orders, Symbols: 4})
			if err != nil {
				t.Fatal(err)
			}
			r := newRefBook()
			g := newGen(seed, syms, 3000, 20)
			g.refs, g.dupPer = c.refs, 5
			var ev tick.Event
			for i := range msgs {
				g.next(&ev)
				var before [2]Level
				var depthBefore [2][rankDepth]Level
				var nBefore [2]int
				if bk := b.Book(ev.Symbol); bk != nil {
					before[0], _ = bk.BestBid()
					before[1], _ = bk.BestAsk()
					nBefore[0] = bk.Depth(tick.SideBuy, depthBefore[0][:])
					nBefore[1] = bk.Depth(tick.SideSell, depthBefore[1][:])
				}
				res := b.Apply(&ev)
				if res.Flags&FlagBook != 0 {
					if err := checkRank(b.Book(ev.Symbol), res.Rank, ev.Kind, &depthBefore, nBefore); err != nil {
						t.Fatalf("msg %d %+v: %v", i, ev, err)
					}
				}
				p, q, printable := r.apply(&ev)
				gotTrade := res.Flags&FlagTrade != 0
				if gotTrade != (q != 0) || (gotTrade && (res.Price != p || res.Qty != q ||
					(res.Flags&FlagPrintable != 0) != printable)) {
					t.Fatalf("msg %d %+v: result %+v, reference trade %v %d %v", i, ev, res, p, q, printable)
				}
				if res.Flags&FlagBook != 0 { // the generator sets Symbol on every order event
					bk := b.Book(ev.Symbol)
					bid, _ := bk.BestBid()
					ask, _ := bk.BestAsk()
					if changed := bid != before[0] || ask != before[1]; changed != (res.Flags&FlagBBO != 0) {
						t.Fatalf("msg %d: BBO flag %v, top changed %v", i, res.Flags&FlagBBO != 0, changed)
					}
				}
				if i%997 == 0 || i == msgs-1 {
					if err := compareBooks(b, r, syms); err != nil {
						t.Fatalf("msg %d: %v", i, err)
					}
				}
			}
			if err := b.checkAll(); err != nil {
				t.Fatal(err)
			}
			// Undersized with tagged references, both halves of the index hold orders.
			if x := &b.refs; c.orders == 256 && c.refs != refsScrambled64 && (x.inWin == 0 || x.tab.count == 0) {
				t.Errorf("index: %d in the window, %d in the table; want both", x.inWin, x.tab.count)
			}
			t.Logf("live %d (%d in the index window), counters %v", b.Orders(), b.refs.inWin, b.Counters())
		})
	}
}
