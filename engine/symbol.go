package engine

import (
	"math"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/engine/stats"
	"github.com/tickd/tickd/tick"
)

// symbol is one symbol's state, owned by its shard and allocated (with all
// its windows, bars and rule states) the first time the symbol trades: the
// edge. The per-tick path then only indexes arrays. A trade touches this
// struct (568 B: the header, Rolling's and EMAs' scalars, the session's
// totals, the rule sets' headers), one slot of the Rolling ring and the
// EMA values, the hot head of each Window (56 B) and Bars (57 B) (a
// Window's ring only when a bucket rolls), the rule states (24 B each) and
// the move references. The plan's rules (128 B each) are shared by every
// symbol.
type symbol struct {
	id     tick.SymbolID
	input  uint32 // the Input whose event last fed it (shard.input): its end of stream flushes it
	trades bool   // has traded (last is valid)
	// tradeThrough: a trade_through rule is bound, so trades load the touch
	// (beside trades: read on every trade, it must share the head's line).
	tradeThrough bool
	last         int64 // event time of the latest trade, after clamping
	lastP        tick.Price
	prevP        tick.Price // the trade before, for price rules' values (converted exactly when one fires)
	roll         stats.Rolling
	emas         stats.EMAs     // by plan.emas: 0 is tick.Stats.EMA, then the rules' half-lives
	sess         stats.Session  // its Totals are the sums every window and bar reads
	wins         []stats.Window // plan.wins order: Config.Windows, then rule windows
	bars         []stats.Bars   // ascending intervals
	barsDue      int64          // stats.NextDue(bars), or MinInt64 when bars changed since: a trade at or after it looks at them
	rules        ruleSet        // the trade rules whose patterns match the name
	refs         []moveRef      // by window, for move rules; nil without them

	// The L3 book's side (ITCH feeds): rules evaluated on book changes, and
	// the BBO publication state (see Config.BBOInterval).
	// A book event reads the fields from bookRules to bboLast: they fill
	// two cache lines; bboTop, after them, only under a BBOInterval.
	bookRules       ruleSet       // spread and imbalance rules bound to the name
	bookDepth       int           // levels per side the book rules read: changes deeper leave them be
	everyBookChange bool          // evalBookRulesOnEveryChange was set: every change counts as at the touch
	bboPending      bool          // a change not yet published
	bboSent         bool          // bboLast (and under a BBOInterval bboTop) are valid
	bboAt, bboRecv  int64         // event and receive time of the last BBO change
	bboLast         int64         // event time of the last BBO publication
	bboTop          [2]book.Level // the best bid and ask last published, kept under a BBOInterval
}

// evalBookRulesOnEveryChange makes symbols created after it is set
// evaluate their book rules on every book change, however deep: a test
// sets it to show that skipping deep changes (symbol.bookDepth) changes no
// output.
var evalBookRulesOnEveryChange = false

// newSymbol allocates the state of id (named name) and binds the rules whose
// Symbols patterns match name.
func newSymbol(id tick.SymbolID, name string, p *plan) *symbol {
	s := &symbol{
		id:              id,
		everyBookChange: evalBookRulesOnEveryChange,
		barsDue:         math.MinInt64,
		wins:            make([]stats.Window, len(p.wins)),
		bars:            make([]stats.Bars, len(p.bars)),
	}
	s.roll.Init(p.cfg.SMA)
	s.emas.Init(p.emas.Len())
	for i, w := range p.wins {
		s.wins[i].Init(w, p.cfg.WindowBuckets)
		s.wins[i].Share(s.sess.Totals())
	}
	for i, b := range p.bars {
		s.bars[i].Init(b)
		s.bars[i].Share(s.sess.Totals())
	}
	var bound []int
	for i, spec := range p.cfg.Rules {
		if spec.Matches(name) {
			bound = append(bound, i)
		}
	}
	for _, i := range bound { // one compact array each, rule order
		r := &p.rules[i]
		if r.typ.bookRule() {
			s.bookRules.add(r)
			s.bookDepth = max(s.bookDepth, r.depth())
			continue
		}
		s.rules.add(r)
		if r.typ == RuleMove && s.refs == nil {
			s.refs = make([]moveRef, len(p.wins))
		}
		s.tradeThrough = s.tradeThrough || r.typ == RuleTradeThrough
	}
	return s
}

// trade applies one trade to sym: it first closes the bars the trade's
// interval ends (so the tick.Stats snapshot shows the state they closed
// on), then updates every statistic, then evaluates the bound rules.
//
// Event time earlier than the symbol's last is clamped to the last (and
// counted): windows, bars and EMAs never go backwards, and the late trade
// still counts, at the latest time.
func (s *shard) trade(sym *symbol, t, recv int64, p tick.Price, q int64) {
	sym.input = s.input
	if !sym.trades {
		sym.trades = true
		sym.lastP = p // the first trade is its own previous one
	} else if t < sym.last {
		t = sym.last
		s.n.outOfOrder++
	}
	barsDue := t >= sym.barsDue // one comparison on most trades, not one per bar
	if barsDue {
		statsDue := false
		for i := range sym.bars {
			if sym.bars[i].Due(t) {
				s.emitBar(sym, &sym.bars[i])
				statsDue = statsDue || i == 0
			}
		}
		if statsDue {
			s.emitStats(sym)
		}
	}

	// ×1e-9 rather than Price.Float64's ÷1e9: a multiply does not stall
	// every statistic behind a division; the two differ by at most an ulp.
	px := float64(p) * (1.0 / tick.PriceScale)
	sym.prevP, sym.lastP, sym.last = sym.lastP, p, t
	sym.roll.Add(px)
	sym.emas.Add(t, px, &s.p.emas)
	// Windows and bars read their sums off the session's totals: they see
	// the trade before the session adds it.
	for i := range sym.wins {
		sym.wins[i].Observe(t, p)
	}
	stats.ObserveAll(sym.bars, t, recv, p)
	if barsDue { // bars may have been flushed or opened since: their next end
		sym.barsDue = stats.NextDue(sym.bars)
	}
	sym.sess.Add(p, q)
	if len(sym.rules.states) == 0 {
		return
	}
	if n := s.tradeCrossings(sym, t, p, px, q); n > 0 {
		s.emitSignals(sym, sym.rules.states, n, t, recv, p, q)
	}
}

// flushBars publishes sym's open bars, and its tick.Stats if the shortest
// bar was open.
func (s *shard) flushBars(sym *symbol) {
	statsDue := false
	for i := range sym.bars {
		if sym.bars[i].Open() {
			s.emitBar(sym, &sym.bars[i])
			statsDue = statsDue || i == 0
		}
	}
	if statsDue {
		s.emitStats(sym)
	}
	sym.barsDue = math.MinInt64 // the next trade opens them again
}

func (s *shard) emitBar(sym *symbol, b *stats.Bars) {
	o := s.out.next()
	o.Kind = tick.OutBar
	b.Flush(&o.Bar)
	o.Bar.Symbol = sym.id
	s.n.bars++
}

func (s *shard) emitStats(sym *symbol) {
	o := s.out.next()
	o.Kind = tick.OutStats
	x := &o.Stats // field by field: a composite literal is built in a temporary and copied
	x.Symbol, x.TsEvent, x.Last = sym.id, sym.last, sym.lastP
	x.SMA, x.EMA, x.VWAP, x.Mean = sym.roll.Mean(), sym.emas.Value(0), sym.sess.VWAP().Float64(), sym.wins[0].Mean()
	x.StdDev, x.ZScore = sym.roll.StdDev(), sym.roll.ZScore()
	x.Min, x.Max, x.Count, x.Volume = sym.sess.Min(), sym.sess.Max(), sym.sess.Count(), sym.sess.Volume()
	s.n.stats++
}
