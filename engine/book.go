package engine

import (
	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/tick"
)

// touch is the book context of the event being evaluated: the symbol's
// book and its best bid and ask (for a trade, as they stood before the
// trade's own message). ok: both sides have orders and the bid is not
// above the ask; the book rules and trade_through evaluate only then. A
// crossed book (a feed joined mid-day, orders lost in a gap) has no touch
// to measure a spread or a trade against: a trade between its ask and bid
// would count as through both.
type touch struct {
	book     *book.Book
	bid, ask tick.Price
	ok       bool
	rank     int // the book change's Result.Rank, against each book rule's depth
}

// mid is (bid+ask)/2 in Price units, the unit of the rules' x.
func (t *touch) mid() float64 { return 0.5 * float64(t.bid+t.ask) }

func (t *touch) load(bk *book.Book) {
	t.book = bk
	if bk == nil {
		t.ok = false
		return
	}
	b, okb := bk.BestBid()
	a, oka := bk.BestAsk()
	t.bid, t.ask, t.ok = b.Price, a.Price, okb && oka && b.Price <= a.Price
}

// bookKind reports whether k is applied to the L3 books: order changes,
// executions, crosses, breaks and the venue's directory and trading states.
func bookKind(k tick.Kind) bool {
	switch k {
	case tick.KindAdd, tick.KindExecute, tick.KindCancel, tick.KindDelete, tick.KindReplace,
		tick.KindExecutePrice, tick.KindExecuteNoPrint, tick.KindCrossTrade, tick.KindBrokenTrade,
		tick.KindDirectory, tick.KindTradingState:
		return true
	}
	return false
}

// tradeKind reports whether an event of kind k may print a trade, so the
// book's touch before it is what trade_through rules compare with.
func tradeKind(k tick.Kind) bool {
	switch k {
	case tick.KindExecute, tick.KindExecutePrice, tick.KindExecuteNoPrint, tick.KindCrossTrade:
		return true
	}
	return false
}

// initBooks creates the shard's books on its first book event, so a shard
// fed trades only never pays for an order table.
func (s *shard) initBooks() {
	c := s.p.cfg
	b, err := book.New(book.Options{ExpectedOrders: c.BookOrders, Symbols: min(c.MaxSymbols, 1<<16)})
	if err != nil { // Config.validate bounds BookOrders
		panic("engine: " + err.Error())
	}
	s.books = b
}

// bookEvent applies one L3 or venue event to the shard's books and then:
// a printed execution or cross feeds the symbol's statistics and trade
// rules like a trade; a book change within the levels the symbol's book
// rules read evaluates them; a change of the best bid or offer publishes a
// tick.BBO (see Config.BBOInterval).
func (s *shard) bookEvent(ev *tick.Event) {
	if tradeKind(ev.Kind) && s.symbolFor(ev.Symbol).tradeThrough {
		s.touch.load(s.books.Book(ev.Symbol))
	}
	res := s.books.Apply(ev)
	s.n.bookEvents++
	if res.Flags&book.FlagRejected != 0 {
		s.n.bookRejected++
		return
	}
	if res.Flags&(book.FlagBook|book.FlagTrade|book.FlagBBO) == 0 {
		return // directory, trading state, a break: state only
	}
	sym := s.symbolFor(res.Symbol)
	sym.input = s.input
	if res.Flags&(book.FlagTrade|book.FlagPrintable) == book.FlagTrade|book.FlagPrintable && res.Qty > 0 && res.Price > 0 {
		s.trade(sym, ev.TsEvent, ev.TsRecv, res.Price, res.Qty)
		s.n.trades++
	}
	if res.Flags&book.FlagBook == 0 {
		return
	}
	bk := s.books.Book(res.Symbol)
	// The book rules read the best sym.bookDepth levels of each side; a
	// change deeper leaves their values, so their states, as they were
	// (evaluating a rule on the value it last saw changes nothing).
	rank := int(res.Rank)
	if sym.everyBookChange {
		rank = 0
	}
	if len(sym.bookRules.states) > 0 && rank < sym.bookDepth {
		s.touch.load(bk)
		s.touch.rank = rank
		if s.touch.ok {
			mid := tick.Price(s.touch.mid())
			if n := s.bookCrossings(sym, ev.TsEvent); n > 0 {
				s.emitSignals(sym, sym.bookRules.states, n, ev.TsEvent, ev.TsRecv, mid, 0)
			}
		}
	}
	if s.p.cfg.BBOInterval < 0 {
		return
	}
	if res.Flags&book.FlagBBO != 0 {
		sym.bboPending, sym.bboAt, sym.bboRecv = true, ev.TsEvent, ev.TsRecv
	}
	if sym.bboPending && (!sym.bboSent || ev.TsEvent-sym.bboLast >= int64(s.p.cfg.BBOInterval)) {
		s.emitBBO(sym, bk, ev.TsEvent)
	}
}

// emitBBO publishes sym's best bid and offer as bk has them now, stamped
// with the times of the change that made them; now is the event time of
// the event publishing it, from which Config.BBOInterval counts. A touch
// that changed and changed back while Config.BBOInterval held it is what
// was published last: it is dropped, not published again.
func (s *shard) emitBBO(sym *symbol, bk *book.Book, now int64) {
	b, _ := bk.BestBid()
	a, _ := bk.BestAsk()
	sym.bboPending = false
	if s.p.cfg.BBOInterval > 0 { // at 0 each change goes out as it happens: none is held to change back
		if sym.bboSent && b == sym.bboTop[0] && a == sym.bboTop[1] {
			return
		}
		sym.bboTop[0], sym.bboTop[1] = b, a
	}
	o := s.out.next()
	o.Kind = tick.OutBBO
	x := &o.BBO // field by field: a composite literal is built in a temporary and copied
	x.Symbol, x.TsEvent, x.TsRecv = sym.id, sym.bboAt, sym.bboRecv
	x.Bid, x.BidShares, x.BidOrders = b.Price, b.Shares, uint32(b.Orders)
	x.Ask, x.AskShares, x.AskOrders = a.Price, a.Shares, uint32(a.Orders)
	sym.bboSent, sym.bboLast = true, now
	s.n.bbos++
}

// flushBBO publishes sym's BBO if a change is still held back by
// Config.BBOInterval (at end of stream).
func (s *shard) flushBBO(sym *symbol) {
	if sym.bboPending && s.books != nil {
		if bk := s.books.Book(sym.id); bk != nil {
			s.emitBBO(sym, bk, sym.bboAt)
		}
	}
}
