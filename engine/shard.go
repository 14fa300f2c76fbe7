package engine

import (
	"math/bits"
	"sync/atomic"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/internal/release"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// counts are one shard's running totals. The shard goroutine keeps them in
// plain fields and stores them to the atomic copy once per batch.
type counts struct {
	events, trades, signals, bars, stats, rejected, outOfOrder uint64
	bookEvents, bookRejected, bbos                             uint64
}

// shard runs one engine goroutine: it fans in over its input rings (one per
// Input, sharing a Bell), updates the state of the symbols it owns and
// writes tick.Out records to its output ring.
type shard struct {
	_      [64]byte // keep neighbours' hot lines off ours
	p      *plan
	table  *tick.SymbolTable
	nshInv uint64    // divInv(number of shards): symbol id lives at syms[id/shards] (see slot)
	syms   []*symbol // this shard's symbols by slot, nil until first seen
	all    []*symbol // the same, in first-seen order, for flushes
	out    outbox
	n      counts      // shard-private running totals
	rs     ruleScratch // the rules an evaluation fires (tradeCrossings, bookCrossings)
	books  *book.Books // L3 books of this shard's symbols; nil until the first book event
	// last, lastOrders and bookPub are the totals as last stored to pub.
	last       counts
	lastOrders uint64
	bookPub    [book.NumReasons]uint64
	touch      touch  // the book context of the event being evaluated
	touched    uint64 // sink for the loads of prefetchSymbols

	bell   *ringbuf.Bell
	inputs atomic.Pointer[[]shardInput] // copy-on-write, under Engine.mu
	input  uint32                       // the id of the Input whose batch is applied; 0 in a Step
	pub    struct {                     // n as of the last batch
		others, trades, signals, bars, stats, rejected, outOfOrder atomic.Uint64 // others: events − trades
		bookEvents, bookRejected, bbos, orders                     atomic.Uint64
		reasons                                                    [book.NumReasons]atomic.Uint64
	}
	_ [64]byte
}

// outbox hands out output-ring slots one record at a time and commits them
// per input batch: the publisher sees a batch's records together.
type outbox struct {
	ring  *ringbuf.Ring[tick.Out]
	buf   []tick.Out // reserved slots
	n     int        // of buf filled
	drain func()     // a Step's: empties the ring on this goroutine before refill reserves
}

// outReserve is how many output slots are reserved at a time.
const outReserve = 64

// next returns the next slot to fill; the caller sets Kind and its member.
func (o *outbox) next() *tick.Out {
	if o.n == len(o.buf) {
		o.refill()
	}
	x := &o.buf[o.n]
	o.n++
	return x
}

func (o *outbox) refill() {
	o.commit()
	if o.drain != nil { // the consumer is this goroutine: Reserve would wait for ever
		o.drain()
	}
	o.buf = o.ring.Reserve(outReserve) // waits while the publisher lags
	if o.buf == nil {
		panic("engine: output ring closed while in use")
	}
}

// commit publishes the filled slots; the rest stay reserved for next.
func (o *outbox) commit() {
	if o.n > 0 {
		o.ring.Commit(o.n)
		o.buf, o.n = o.buf[o.n:], 0
	}
}

// slot returns where id's state lives in syms: id / number of shards.
// With several shards, the division is a multiply by nshInv and a shift,
// exact for every 32-bit id (Lemire, Kaser, Kurz, "Faster remainder by
// direct computation", 2019): a DIV per event costs tens of cycles.
func (s *shard) slot(id tick.SymbolID) uint32 {
	if s.nshInv == 0 { // one shard
		return uint32(id)
	}
	q, _ := bits.Mul64(s.nshInv, uint64(id))
	return uint32(q)
}

// divInv returns ⌈2^64/d⌉ for 2 ≤ d < 2^32, for slot; 0 for d = 1.
func divInv(d uint32) uint64 {
	if d < 2 {
		return 0
	}
	return ^uint64(0)/uint64(d) + 1
}

// symbolFor returns id's state, creating it the first time (the edge: it
// allocates). id must be below the shard's symbol limit.
func (s *shard) symbolFor(id tick.SymbolID) *symbol {
	i := s.slot(id)
	if sym := s.syms[i]; sym != nil {
		return sym
	}
	sym := newSymbol(id, s.table.Name(id), s.p)
	s.syms[i] = sym
	s.all = append(s.all, sym)
	return sym
}

// inputBell is the Bell for the shard's input rings: its own under Park,
// which it sleeps on; none otherwise, as it never sleeps, and a ring
// without a Bell commits without a fence (ringbuf.Options.Bell).
func (s *shard) inputBell() *ringbuf.Bell {
	if s.p.cfg.Wait == ringbuf.Park {
		return s.bell
	}
	return nil
}

// process applies one batch of events and publishes the counters.
func (s *shard) process(batch []tick.Event) {
	s.apply(batch)
	s.publish()
}

// apply applies one batch of events and commits the outputs. Trades feed
// the statistics; L3 and venue events go to the books first (bookEvent), a
// group at a time with the group's order-table lookups prefetched. Unknown symbols, unknown kinds and trade
// or cross sizes negative or above tick.MaxQty are rejected (counted, otherwise ignored); quotes and system
// events are accepted and ignored.
func (s *shard) apply(batch []tick.Event) {
	limit := uint32(min(s.table.Len(), s.p.cfg.MaxSymbols))
	s.n.events += uint64(len(batch))
	if s.books == nil { // trades only, so far: no lookups to prefetch
		for i := range batch {
			if ev := &batch[i]; ev.Kind == tick.KindTrade {
				s.tradeEvent(ev, limit) // the common case, without event's dispatch
			} else {
				s.event(ev, limit)
			}
		}
		batch = nil
	}
	for len(batch) > 0 {
		group := batch[:min(len(batch), book.PrefetchGroup)]
		if s.books != nil {
			s.books.Prefetch(group)
			s.prefetchSymbols(group, limit)
		}
		for i := range group {
			s.event(&group[i], limit)
		}
		batch = batch[len(group):]
	}
	s.out.commit()
}

// prefetchSymbols touches the book-side state of the symbols of a group of
// book events, and their book rules' states, before the events are applied,
// as book.Books.Prefetch does for the orders. With a thousand symbols that state
// is in L3 at best, and its first load, waited for in turn for each event,
// was ~14 ns a message in a CPU profile of bench's ITCH benchmark. The
// loads' sum goes to s.touched so the compiler keeps them.
func (s *shard) prefetchSymbols(group []tick.Event, limit uint32) {
	var acc int
	for i := range group {
		ev := &group[i]
		if bookKind(ev.Kind) && uint32(ev.Symbol) < limit {
			if sym := s.syms[s.slot(ev.Symbol)]; sym != nil {
				acc += sym.bookDepth
				if st := sym.bookRules.states; len(st) > 0 {
					acc += int(st[0].st)
				}
			}
		}
	}
	s.touched += uint64(acc)
}

// event applies one event; symbols at or above limit are rejected.
func (s *shard) event(ev *tick.Event, limit uint32) {
	switch k := ev.Kind; {
	case k == tick.KindTrade:
		s.tradeEvent(ev, limit)
	case bookKind(k):
		// A cross trade's size as a trade's (tradeEvent): the book prints
		// any positive one, and two near 2^62 would wrap the volume.
		if uint32(ev.Symbol) >= limit || (k == tick.KindCrossTrade && uint64(ev.Qty) > tick.MaxQty) {
			s.n.rejected++
			return
		}
		if s.books == nil {
			s.initBooks()
		}
		s.bookEvent(ev)
	case k == tick.KindEndOfStream:
		s.flushInput(s.input)
	case k == tick.KindQuote || k == tick.KindSystem:
		if uint32(ev.Symbol) >= limit {
			s.n.rejected++
		}
	default:
		s.n.rejected++
	}
}

// tradeEvent applies a KindTrade event.
func (s *shard) tradeEvent(ev *tick.Event, limit uint32) {
	if uint32(ev.Symbol) >= limit || uint64(ev.Qty) > tick.MaxQty { // negative too: as uint64, above it
		s.n.rejected++
		return
	}
	sym := s.syms[s.slot(ev.Symbol)] // symbolFor's lookup, without its call
	if sym == nil {
		sym = s.symbolFor(ev.Symbol)
	}
	if sym.tradeThrough {
		var bk *book.Book
		if s.books != nil {
			bk = s.books.Book(ev.Symbol)
		}
		s.touch.load(bk)
	}
	s.trade(sym, ev.TsEvent, ev.TsRecv, ev.Price, ev.Qty)
	s.n.trades++
}

// flushAll publishes every open bar of the shard and every BBO change
// Config.BBOInterval still holds back.
func (s *shard) flushAll() {
	for _, sym := range s.all {
		s.flushBars(sym)
		s.flushBBO(sym)
	}
}

// flushInput publishes, at the end of input's stream, the open bars and
// held BBO changes of the symbols input fed last: another Input's symbols
// keep theirs, so its bars are not cut in two. A Step's symbols all carry
// input 0, so there it is flushAll.
func (s *shard) flushInput(input uint32) {
	for _, sym := range s.all {
		if sym.input == input {
			s.flushBars(sym)
			s.flushBBO(sym)
		}
	}
}

// addCounters adds the shard's published totals to c; any goroutine.
func (s *shard) addCounters(c *Counters) {
	trades := s.pub.trades.Load()
	c.Events += trades + s.pub.others.Load()
	c.Trades += trades
	c.Signals += s.pub.signals.Load()
	c.Bars += s.pub.bars.Load()
	c.Stats += s.pub.stats.Load()
	c.Rejected += s.pub.rejected.Load()
	c.OutOfOrder += s.pub.outOfOrder.Load()
	c.BookEvents += s.pub.bookEvents.Load()
	c.BookRejected += s.pub.bookRejected.Load()
	c.BBOs += s.pub.bbos.Load()
	c.Orders += s.pub.orders.Load()
	for r := range c.Book {
		c.Book[r] += s.pub.reasons[r].Load()
	}
}

// publish stores to pub the totals the batch moved, and only those: with
// one-event batches, at low rates, storing all of them cost more than the
// trade itself. Events are stored as the others than trades, which a batch
// of trades leaves as they were. The stores are release stores
// (internal/release): sync/atomic's is a fenced XCHG on amd64, which waits
// for the batch's output records to reach the publisher's core; readers of
// counters need no more than to see them whole and in order.
func (s *shard) publish() {
	n, l, p := &s.n, &s.last, &s.pub
	storeChanged(&p.trades, &l.trades, n.trades)
	storeChanged(&p.others, &l.events, n.events-n.trades) // events = trades + others
	storeChanged(&p.signals, &l.signals, n.signals)
	storeChanged(&p.bars, &l.bars, n.bars)
	storeChanged(&p.stats, &l.stats, n.stats)
	storeChanged(&p.rejected, &l.rejected, n.rejected)
	storeChanged(&p.outOfOrder, &l.outOfOrder, n.outOfOrder)
	if s.books != nil {
		storeChanged(&p.bookEvents, &l.bookEvents, n.bookEvents)
		storeChanged(&p.bookRejected, &l.bookRejected, n.bookRejected)
		storeChanged(&p.bbos, &l.bbos, n.bbos)
		storeChanged(&p.orders, &s.lastOrders, uint64(s.books.Orders()))
		for r := range p.reasons {
			storeChanged(&p.reasons[r], &s.bookPub[r], s.books.Count(book.Reason(r)))
		}
	}
}

// storeChanged stores v to p unless it equals last, the value stored before.
func storeChanged(p *atomic.Uint64, last *uint64, v uint64) {
	if v != *last {
		*last = v
		release.StoreUint64(p, v)
	}
}

// run is the shard goroutine: poll every input ring, process what is there,
// idle when nothing is; once the engine is stopping and every input is
// closed and drained, flush the open bars and close the output ring.
func (s *shard) run(e *Engine) {
	idle := ringbuf.NewIdler(s.p.cfg.Wait, s.bell)
	for {
		ins := *s.inputs.Load()
		work := false
		for _, in := range ins {
			c := in.cons
			batch := c.Poll()
			if len(batch) == 0 {
				if c.Closed() {
					e.detach(s, c)
				}
				continue
			}
			s.input = in.id
			s.process(batch)
			c.Release(len(batch))
			work = true
		}
		if work {
			idle.Reset()
			continue
		}
		if e.stopping.Load() && len(*s.inputs.Load()) == 0 {
			break
		}
		// The input is idle: grow the order table now, at half load,
		// rather than inside an Apply at three quarters.
		if s.books != nil && s.books.Maintain() {
			s.publish()
		}
		idle.Idle()
	}
	s.flushAll()
	s.out.commit()
	s.publish()
	s.out.ring.Close()
}
