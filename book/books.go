package book

import (
	"errors"
	"math"

	"github.com/tickd/tickd/internal/hugepage"
	"github.com/tickd/tickd/tick"
)

// Options sizes Books up front. Zero fields take the defaults.
type Options struct {
	ExpectedOrders int // live orders to size the slab and reference index for; default 1<<16
	Symbols        int // symbol IDs to preallocate books for (IDs are dense); default 1024
	LevelsPerSide  int // price levels to preallocate per side of a new book; default 32
}

// Maximum sizes: slab indices are uint32 and symbols share a word with the side bit.
const (
	maxOrders  = 1 << 30
	maxSymbols = 1 << 31
)

func (o *Options) setDefaults() {
	if o.ExpectedOrders == 0 {
		o.ExpectedOrders = 1 << 16
	}
	if o.Symbols == 0 {
		o.Symbols = 1024
	}
	if o.LevelsPerSide == 0 {
		o.LevelsPerSide = 32
	}
}

func (o *Options) validate() error {
	switch {
	case o.ExpectedOrders < 0 || o.ExpectedOrders > maxOrders:
		return errors.New("book: ExpectedOrders out of range [0, 2^30]")
	case o.Symbols < 0 || o.Symbols > maxSymbols:
		return errors.New("book: Symbols out of range [0, 2^31]")
	case o.LevelsPerSide < 0:
		return errors.New("book: LevelsPerSide is negative")
	}
	return nil
}

// Flags say what an Apply did.
type Flags uint8

// Result flags.
const (
	FlagBook      Flags = 1 << iota // the book changed (orders or levels)
	FlagBBO                         // best bid or offer (price, shares or order count) changed
	FlagTrade                       // Result.Price/Qty report a trade or execution
	FlagPrintable                   // the trade counts in volume (not set for ExecuteNoPrint)
	FlagCrossed                     // after this event the book is crossed
	FlagLocked                      // after this event the book is locked
	FlagRejected                    // the event was counted under Result.Reason and not applied
)

// Result is what one Apply changed.
type Result struct {
	Price  tick.Price    // trade price when FlagTrade
	Qty    int64         // trade shares when FlagTrade
	Symbol tick.SymbolID // the symbol the event applied to (an order's own symbol for L3 kinds); 0 if rejected
	// Rank, with FlagBook, is the rank on its side of the best level the
	// event changed (added, removed, or its shares or orders changed): 0
	// for the best bid or offer, 1 for the level behind it, and so on,
	// saturating at MaxRank. The levels better than Rank on both sides are
	// as they were, so a value computed from the best Rank levels alone
	// (spread, imbalance over Rank levels) has not changed.
	Rank   uint16
	Flags  Flags
	Reason Reason // why the event was rejected or adjusted, ReasonNone if not
}

// MaxRank is the largest Result.Rank: a change at least this deep.
const MaxRank = math.MaxUint16

// Books owns the L3 books of one engine shard. It is not safe for concurrent
// use: one goroutine applies events and queries. Create it with New: the
// zero Books is not usable.
type Books struct {
	orders   []order // slab; orders[0] is the nil order
	free     uint32  // head of the free list (0 = empty)
	refs     index   // order reference -> slab index
	books    []Book
	levelCap int
	counts   [NumReasons]uint64
	touched  uint64 // sink for the loads of prefetch
	rank     int    // the best rank changed since the last finish (Result.Rank)
}

// New returns Books sized by opts.
func New(opts Options) (*Books, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	b := &Books{
		orders:   make([]order, 1, opts.ExpectedOrders+1),
		refs:     newIndex(opts.ExpectedOrders),
		books:    make([]Book, opts.Symbols),
		levelCap: opts.LevelsPerSide,
		rank:     MaxRank,
	}
	hugepage.Advise(b.orders)
	return b, nil
}

// Book returns the book of sym, or nil if no event has named sym yet. The
// pointer is valid until the next Apply (a new symbol beyond Options.Symbols
// may move the books).
func (b *Books) Book(sym tick.SymbolID) *Book {
	if int(sym) < len(b.books) && b.books[sym].known {
		return &b.books[sym]
	}
	return nil
}

// Count returns the counter for r.
func (b *Books) Count(r Reason) uint64 { return b.counts[r] }

// Counters returns a copy of every counter, indexed by Reason.
func (b *Books) Counters() [NumReasons]uint64 { return b.counts }

// Orders returns the number of live orders across all books.
func (b *Books) Orders() int { return b.refs.count() }

// Maintain grows the order table early (at load 1/2) so that Apply need not;
// call it off the hot path, e.g. when the input is idle. It reports whether it grew.
func (b *Books) Maintain() bool {
	if b.refs.maintain() {
		b.counts[ReasonGrowTable]++
		return true
	}
	return false
}

// OrderInfo describes one resting order.
type OrderInfo struct {
	Symbol tick.SymbolID
	Side   tick.Side
	Price  tick.Price
	Qty    int64
}

// Order returns the resting order ref.
func (b *Books) Order(ref uint64) (OrderInfo, bool) {
	_, idx := b.refs.find(ref, b.orders)
	if idx == 0 {
		return OrderInfo{}, false
	}
	o := &b.orders[idx]
	return OrderInfo{Symbol: o.sym(), Side: tick.Side(o.sideIdx() + 1), Price: o.price, Qty: int64(o.qty)}, true
}

// Queue appends the references resting at price on side of sym to dst in
// time priority (first to fill first) and returns it.
func (b *Books) Queue(sym tick.SymbolID, side tick.Side, price tick.Price, dst []uint64) []uint64 {
	bk := b.Book(sym)
	si, ok := sideIndex(side)
	if bk == nil || !ok {
		return dst
	}
	l := &bk.sides[si]
	i, found := l.search(keyOf(si, price))
	if !found {
		return dst
	}
	for o := l.levels[i].head; o != 0; o = b.orders[o].next {
		dst = append(dst, b.orders[o].ref)
	}
	return dst
}

// book returns the book of sym, creating it (and growing the book slice,
// allocating, if sym is beyond Options.Symbols).
func (b *Books) book(sym tick.SymbolID) *Book {
	if int(sym) >= len(b.books) {
		n := max(2*len(b.books), int(sym)+1)
		nb := make([]Book, n)
		copy(nb, b.books)
		b.books = nb
		b.counts[ReasonGrowBooks]++
	}
	bk := &b.books[sym]
	if !bk.known {
		bk.known = true
		bk.sides[0].levels = make([]level, 0, b.levelCap)
		bk.sides[1].levels = make([]level, 0, b.levelCap)
	}
	return bk
}

// Apply applies one event and reports what changed. Events of kinds that do not
// touch books (System, Quote, EndOfStream) are counted as ReasonIgnored.
func (b *Books) Apply(ev *tick.Event) Result {
	var r Result
	switch ev.Kind {
	case tick.KindAdd:
		r = b.add(ev)
	case tick.KindExecute, tick.KindExecutePrice, tick.KindExecuteNoPrint, tick.KindCancel:
		r = b.reduce(ev)
	case tick.KindDelete:
		r = b.delete(ev)
	case tick.KindReplace:
		r = b.replace(ev)
	case tick.KindTrade, tick.KindCrossTrade:
		r.Symbol = ev.Symbol
		if sym := ev.Symbol; sym >= maxSymbols {
			r = b.reject(ReasonBadSymbol)
		} else if bk := b.book(sym); ev.Qty > 0 { // a cross of no shares (NASDAQ sends them) printed nothing
			r.Price, r.Qty, r.Flags = ev.Price, ev.Qty, FlagTrade|FlagPrintable
			bk.print(ev.Price, ev.Qty)
		}
	case tick.KindBrokenTrade:
		b.counts[ReasonBrokenTrade]++
		r.Symbol = ev.Symbol
		if ev.Symbol < maxSymbols {
			b.book(ev.Symbol).broken++
		}
	case tick.KindTradingState:
		r.Symbol = ev.Symbol
		if ev.Symbol < maxSymbols {
			b.book(ev.Symbol).state = byte(ev.Qty)
		}
	case tick.KindDirectory:
		r.Symbol = ev.Symbol
		if ev.Symbol < maxSymbols {
			b.book(ev.Symbol).roundLot = ev.Qty
		}
	default:
		b.counts[ReasonIgnored]++
	}
	if invariants && r.Flags&FlagBook != 0 {
		b.check(r.Symbol)
	}
	return r
}

func (b *Books) reject(why Reason) Result {
	b.counts[why]++
	return Result{Flags: FlagRejected, Reason: why}
}

// print records a printable trade.
func (bk *Book) print(p tick.Price, q int64) {
	bk.lastPrice, bk.lastQty = p, q
	bk.volume += q
	bk.trades++
}

// finish sets Rank and the BBO and cross flags after a book change. The
// best bid or offer changed exactly when a best level did (rank 0: added,
// removed, or its shares changed), and only then can the cross state
// change; replace, which may take shares off a level and put them back,
// checks its own.
func (b *Books) finish(bk *Book, r *Result) {
	rank := b.rank
	b.rank = MaxRank
	r.Flags |= FlagBook
	r.Rank = uint16(min(rank, MaxRank))
	if rank == 0 {
		r.Flags |= FlagBBO
		if st := bk.crossState(); st != bk.cross {
			bk.cross = st
			switch st {
			case crossed:
				b.counts[ReasonCrossed]++
			case locked:
				b.counts[ReasonLocked]++
			}
		}
	}
	switch bk.cross {
	case crossed:
		r.Flags |= FlagCrossed
	case locked:
		r.Flags |= FlagLocked
	}
}

func (b *Books) add(ev *tick.Event) Result {
	si, ok := sideIndex(ev.Side)
	if !ok || ev.Qty <= 0 || ev.Qty > math.MaxUint32 || ev.Price <= 0 {
		return b.reject(ReasonBadOrder)
	}
	if ev.Symbol >= maxSymbols {
		return b.reject(ReasonBadSymbol)
	}
	if b.refs.reserve() {
		b.counts[ReasonGrowTable]++
	}
	pos, idx := b.refs.find(ev.OrderRef, b.orders)
	if idx != 0 {
		return b.reject(ReasonDuplicateRef)
	}
	bk := b.book(ev.Symbol)
	b.insert(bk, pos, ev.OrderRef, ev.Symbol, si, ev.Price, uint32(ev.Qty))
	b.counts[ReasonAdd]++
	r := Result{Symbol: ev.Symbol}
	b.finish(bk, &r)
	return r
}

// insert allocates an order, enters it in the index at pos and queues it.
func (b *Books) insert(bk *Book, pos uint64, ref uint64, sym tick.SymbolID, si int, p tick.Price, q uint32) {
	idx := b.free
	if idx != 0 {
		b.free = b.orders[idx].next
	} else {
		if len(b.orders) == cap(b.orders) {
			b.counts[ReasonGrowSlab]++
		}
		b.orders = append(b.orders, order{})
		idx = uint32(len(b.orders) - 1)
	}
	b.refs.insertAt(pos, ref, idx, b.orders)
	lv, rank := bk.sides[si].levelFor(keyOf(si, p))
	b.rank = min(b.rank, rank)
	o := &b.orders[idx]
	*o = order{ref: ref, price: p, qty: q, prev: lv.tail, symSide: uint32(sym)<<1 | uint32(si)}
	if lv.tail != 0 {
		b.orders[lv.tail].next = idx
	} else {
		lv.head = idx
	}
	lv.tail = idx
	lv.orders++
	lv.shares += int64(q)
	bk.live++
}

// unlink removes order idx (at index position pos) from its level, the index
// and the slab.
func (b *Books) unlink(bk *Book, pos uint64, idx uint32) {
	o := &b.orders[idx]
	si := o.sideIdx()
	l := &bk.sides[si]
	i, _ := l.search(keyOf(si, o.price))
	b.rank = min(b.rank, l.rank(i))
	lv := &l.levels[i]
	if o.prev != 0 {
		b.orders[o.prev].next = o.next
	} else {
		lv.head = o.next
	}
	if o.next != 0 {
		b.orders[o.next].prev = o.prev
	} else {
		lv.tail = o.prev
	}
	lv.orders--
	lv.shares -= int64(o.qty)
	if lv.orders == 0 {
		l.remove(i)
	}
	b.refs.deleteAt(pos)
	*o = order{next: b.free}
	b.free = idx
	bk.live--
}

// reduce handles Execute, ExecutePrice, ExecuteNoPrint and Cancel: take Qty off
// the order, removing it when nothing is left. An over-execution or
// over-cancel removes the order, reports the shares it had, and is counted.
func (b *Books) reduce(ev *tick.Event) Result {
	pos, idx := b.refs.find(ev.OrderRef, b.orders)
	if idx == 0 {
		return b.reject(unknownReason(ev.Kind))
	}
	if ev.Qty <= 0 {
		return b.reject(ReasonBadOrder)
	}
	o := &b.orders[idx]
	sym := o.sym()
	bk := &b.books[sym]
	r := Result{Symbol: sym}
	q := ev.Qty
	if q >= int64(o.qty) {
		if q > int64(o.qty) {
			b.counts[ReasonOverfill]++
			r.Reason = ReasonOverfill
			q = int64(o.qty)
		}
		r.Price = o.price
		b.unlink(bk, pos, idx)
	} else {
		r.Price = o.price
		o.qty -= uint32(q)
		si := o.sideIdx()
		l := &bk.sides[si]
		i, _ := l.search(keyOf(si, o.price))
		b.rank = min(b.rank, l.rank(i))
		l.levels[i].shares -= q
	}
	switch ev.Kind {
	case tick.KindCancel:
		b.counts[ReasonCancel]++
		r.Price = 0
	case tick.KindExecute:
		b.counts[ReasonExecute]++
		r.Qty, r.Flags = q, FlagTrade|FlagPrintable
		bk.print(r.Price, q)
	case tick.KindExecutePrice:
		b.counts[ReasonExecute]++
		r.Price, r.Qty, r.Flags = ev.Price, q, FlagTrade|FlagPrintable
		bk.print(r.Price, q)
	default: // KindExecuteNoPrint: a trade, but not counted in volume or last
		b.counts[ReasonExecute]++
		r.Price, r.Qty, r.Flags = ev.Price, q, FlagTrade
	}
	b.finish(bk, &r)
	return r
}

func (b *Books) delete(ev *tick.Event) Result {
	pos, idx := b.refs.find(ev.OrderRef, b.orders)
	if idx == 0 {
		return b.reject(ReasonUnknownDelete)
	}
	sym := b.orders[idx].sym()
	bk := &b.books[sym]
	b.unlink(bk, pos, idx)
	b.counts[ReasonDelete]++
	r := Result{Symbol: sym}
	b.finish(bk, &r)
	return r
}

// replace removes OrderRef and adds NewRef on the same symbol and side with the
// new price and shares, at the back of its level's queue. If NewRef is already
// live or the new shares are out of range, the original is still removed (the
// venue has cancelled it) and the problem is counted.
func (b *Books) replace(ev *tick.Event) Result {
	pos, idx := b.refs.find(ev.OrderRef, b.orders)
	if idx == 0 {
		return b.reject(ReasonUnknownReplace)
	}
	o := &b.orders[idx]
	sym, si := o.sym(), o.sideIdx()
	bk := &b.books[sym]
	oldPrice, oldQty := o.price, int64(o.qty)
	b.unlink(bk, pos, idx)
	b.counts[ReasonReplace]++
	r := Result{Symbol: sym}
	requeued := false // put back at the same price with the same shares
	switch {
	case ev.Qty <= 0 || ev.Qty > math.MaxUint32 || ev.Price <= 0:
		b.counts[ReasonBadOrder]++
		r.Reason = ReasonBadOrder
	default:
		if b.refs.reserve() {
			b.counts[ReasonGrowTable]++
		}
		npos, nidx := b.refs.find(ev.NewRef, b.orders)
		if nidx != 0 {
			b.counts[ReasonDuplicateRef]++
			r.Reason = ReasonDuplicateRef
			break
		}
		b.insert(bk, npos, ev.NewRef, sym, si, ev.Price, uint32(ev.Qty))
		requeued = ev.Price == oldPrice && ev.Qty == oldQty
	}
	b.finish(bk, &r)
	if requeued { // the level lost the order and got it back: price, shares and count as they were
		r.Flags &^= FlagBBO
	}
	return r
}
