package engine

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/tick"
)

// add, replace and l3 build L3 events at t0 + ms milliseconds, received
// 7 ns later.
func add(ms int64, sym tick.SymbolID, ref uint64, side tick.Side, p float64, q int64) tick.Event {
	return tick.Event{Kind: tick.KindAdd, Symbol: sym, TsEvent: t0 + ms*1e6, TsRecv: t0 + ms*1e6 + 7, OrderRef: ref, Side: side, Price: px(p), Qty: q}
}

func replace(ms int64, sym tick.SymbolID, ref, newRef uint64, p float64, q int64) tick.Event {
	ev := l3(tick.KindReplace, ms, sym, ref, p, q)
	ev.NewRef = newRef
	return ev
}

func l3(kind tick.Kind, ms int64, sym tick.SymbolID, ref uint64, p float64, q int64) tick.Event {
	return tick.Event{Kind: kind, Symbol: sym, TsEvent: t0 + ms*1e6, TsRecv: t0 + ms*1e6 + 7, OrderRef: ref, Price: px(p), Qty: q}
}

// TestBookEventsToBBOAndTrades: L3 events build the book, every change of
// the touch publishes a BBO with the exact levels, executions are trades
// for the bars, and a non-printable execution is not.
func TestBookEventsToBBOAndTrades(t *testing.T) {
	e, _ := newTestEngine(t, Config{Bars: []time.Duration{time.Minute}}, "AAPL")
	s := e.shards[0]
	B, S := tick.SideBuy, tick.SideSell
	s.process([]tick.Event{
		{Kind: tick.KindDirectory, Symbol: 0, Qty: 100},
		add(0, 0, 1, B, 100.00, 300),                                                      // BBO: bid 100 x 300
		add(1, 0, 2, S, 100.05, 200),                                                      // BBO: ask 100.05 x 200
		add(2, 0, 3, B, 99.99, 500),                                                       // behind the touch: no BBO
		add(3, 0, 4, B, 100.00, 100),                                                      // joins the bid: 400 shares, 2 orders
		l3(tick.KindExecute, 4, 0, 2, 0, 50),                                              // trade 50 @ 100.05; ask 150
		l3(tick.KindExecuteNoPrint, 5, 0, 2, 100.05, 50),                                  // not printed; ask 100
		l3(tick.KindCancel, 6, 0, 1, 0, 300),                                              // bid order 1 gone: 100 x 100
		replace(7, 0, 4, 5, 100.01, 200),                                                  // bid 100.01 x 200 as order 5
		l3(tick.KindDelete, 8, 0, 3, 0, 0),                                                // behind: no BBO
		l3(tick.KindExecutePrice, 9, 0, 2, 100.06, 100),                                   // printable at 100.06; ask side empties
		{Kind: tick.KindTrade, Symbol: 0, TsEvent: t0 + 10e6, Price: px(100.02), Qty: 10}, // P
		{Kind: tick.KindEndOfStream},
	})
	outs := drain(s.out.ring)
	var bbos []tick.BBO
	for _, o := range only(outs, tick.OutBBO) {
		bbos = append(bbos, o.BBO)
	}
	want := []tick.BBO{
		{TsEvent: t0, Bid: px(100), BidShares: 300, BidOrders: 1},
		{TsEvent: t0 + 1e6, Bid: px(100), BidShares: 300, BidOrders: 1, Ask: px(100.05), AskShares: 200, AskOrders: 1},
		{TsEvent: t0 + 3e6, Bid: px(100), BidShares: 400, BidOrders: 2, Ask: px(100.05), AskShares: 200, AskOrders: 1},
		{TsEvent: t0 + 4e6, Bid: px(100), BidShares: 400, BidOrders: 2, Ask: px(100.05), AskShares: 150, AskOrders: 1},
		{TsEvent: t0 + 5e6, Bid: px(100), BidShares: 400, BidOrders: 2, Ask: px(100.05), AskShares: 100, AskOrders: 1},
		{TsEvent: t0 + 6e6, Bid: px(100), BidShares: 100, BidOrders: 1, Ask: px(100.05), AskShares: 100, AskOrders: 1},
		{TsEvent: t0 + 7e6, Bid: px(100.01), BidShares: 200, BidOrders: 1, Ask: px(100.05), AskShares: 100, AskOrders: 1},
		{TsEvent: t0 + 9e6, Bid: px(100.01), BidShares: 200, BidOrders: 1},
	}
	if len(bbos) != len(want) {
		t.Fatalf("%d BBOs, want %d: %+v", len(bbos), len(want), bbos)
	}
	for i := range want {
		want[i].TsRecv = want[i].TsEvent + 7
		if bbos[i] != want[i] {
			t.Fatalf("BBO %d = %+v, want %+v", i, bbos[i], want[i])
		}
	}
	bars := only(outs, tick.OutBar)
	if len(bars) != 1 {
		t.Fatalf("%d bars, want 1", len(bars))
	}
	// Printed: 50 @ 100.05 (E), 100 @ 100.06 (C), 10 @ 100.02 (P); not the 50 of the non-printable C.
	if b := bars[0].Bar; b.Volume != 160 || b.Count != 3 || b.Open != px(100.05) || b.High != px(100.06) || b.Close != px(100.02) {
		t.Fatalf("bar %+v", b)
	}
	c := e.Counters()
	if c.BookEvents != 11 || c.BookRejected != 0 || c.BBOs != uint64(len(want)) || c.Trades != 3 || c.Book[book.ReasonAdd] != 4 {
		t.Fatalf("counters %+v", c)
	}
}

// TestBookRejectsAreCounted: an execute of an order the book never saw (a
// feed joined mid-day) is counted, publishes nothing and breaks nothing.
func TestBookRejectsAreCounted(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, "AAPL")
	s := e.shards[0]
	s.process([]tick.Event{
		l3(tick.KindExecute, 0, 0, 99, 0, 100),
		l3(tick.KindDelete, 1, 0, 98, 0, 0),
		add(2, 0, 1, tick.SideBuy, 10, 100),
	})
	c := e.Counters()
	if c.BookRejected != 2 || c.Book[book.ReasonUnknownExecute] != 1 || c.Book[book.ReasonUnknownDelete] != 1 || c.BBOs != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// TestBBOInterval: changes within the interval are held and the latest
// state goes out with the first book event past it, or at end of stream.
func TestBBOInterval(t *testing.T) {
	e, _ := newTestEngine(t, Config{BBOInterval: 10 * time.Millisecond}, "AAPL")
	s := e.shards[0]
	B := tick.SideBuy
	s.process([]tick.Event{
		add(0, 0, 1, B, 10.00, 100),  // published: the first
		add(1, 0, 2, B, 10.01, 100),  // held
		add(2, 0, 3, B, 10.02, 100),  // held (replaces the held state)
		add(12, 0, 4, B, 9.00, 100),  // not a BBO change, but past the interval: publishes the held one
		add(13, 0, 5, B, 10.03, 100), // held
		{Kind: tick.KindEndOfStream}, // flushes it
	})
	var got []tick.BBO
	for _, o := range only(drain(s.out.ring), tick.OutBBO) {
		got = append(got, o.BBO)
	}
	want := []struct {
		ms  int64
		bid float64
	}{{0, 10}, {2, 10.02}, {13, 10.03}}
	if len(got) != len(want) {
		t.Fatalf("BBOs %+v", got)
	}
	for i, w := range want {
		if got[i].TsEvent != t0+w.ms*1e6 || got[i].Bid != px(w.bid) {
			t.Fatalf("BBO %d = %+v, want at %d ms bid %v", i, got[i], w.ms, w.bid)
		}
	}
	e2, _ := newTestEngine(t, Config{BBOInterval: -1}, "AAPL")
	e2.shards[0].process([]tick.Event{add(0, 0, 1, B, 10.00, 100), {Kind: tick.KindEndOfStream}})
	if n := len(only(drain(e2.shards[0].out.ring), tick.OutBBO)); n != 0 {
		t.Fatalf("BBOInterval -1 published %d BBOs", n)
	}
}

// TestBBOIntervalSkipsATouchChangedBack: a touch that changed and changed
// back while BBOInterval held it is the BBO published last; neither the
// deeper change past the interval nor the end of the stream publishes it
// again.
func TestBBOIntervalSkipsATouchChangedBack(t *testing.T) {
	e, _ := newTestEngine(t, Config{BBOInterval: 10 * time.Millisecond}, "AAPL")
	s := e.shards[0]
	B := tick.SideBuy
	s.process([]tick.Event{
		add(0, 0, 1, B, 10.00, 100),         // published: the first
		add(1, 0, 2, B, 10.00, 100),         // 200 shares: held
		l3(tick.KindDelete, 2, 0, 2, 0, 0),  // back to 100 x 1: held, as published
		add(20, 0, 3, B, 9.00, 100),         // deeper, past the interval: nothing to publish
		add(30, 0, 4, B, 10.01, 100),        // published
		add(31, 0, 5, B, 10.02, 100),        // held
		l3(tick.KindDelete, 32, 0, 5, 0, 0), // back to 10.01: held, as published
		{Kind: tick.KindEndOfStream},        // nothing held that differs
	})
	var got []tick.BBO
	for _, o := range only(drain(s.out.ring), tick.OutBBO) {
		got = append(got, o.BBO)
	}
	if len(got) != 2 || got[0].Bid != px(10) || got[0].TsEvent != t0 || got[1].Bid != px(10.01) || got[1].TsEvent != t0+30e6 {
		t.Fatalf("BBOs %+v, want 10.00 at 0 ms and 10.01 at 30 ms only", got)
	}
	if n := e.Counters().BBOs; n != 2 {
		t.Fatalf("BBOs counted %d, want 2", n)
	}
}

// bookSigs runs events through a one-symbol engine with rules and returns
// the signals.
func bookSigs(t *testing.T, rules []RuleSpec, evs []tick.Event) []tick.Signal {
	t.Helper()
	e, _ := newTestEngine(t, Config{Rules: rules, Bars: []time.Duration{time.Hour}}, "AAPL")
	s := e.shards[0]
	s.process(evs)
	var sigs []tick.Signal
	for _, o := range only(drain(s.out.ring), tick.OutSignal) {
		sigs = append(sigs, o.Signal)
	}
	return sigs
}

func TestSpreadRule(t *testing.T) {
	B, S := tick.SideBuy, tick.SideSell
	r := RuleSpec{ID: "wide", Type: RuleSpread, Bps: 50, Hysteresis: 10}
	sigs := bookSigs(t, []RuleSpec{r}, []tick.Event{
		add(0, 0, 1, B, 100.00, 100),       // one side only: not evaluated
		add(1, 0, 2, S, 100.10, 100),       // 10 bps: first evaluation, below
		l3(tick.KindDelete, 2, 0, 2, 0, 0), // ask side empty: not evaluated
		add(3, 0, 3, S, 101.00, 100),       // 99.5 bps > 50: fires up
		add(4, 0, 4, S, 100.60, 100),       // 59.8 bps: still above
		add(5, 0, 5, S, 100.45, 100),       // 44.9 bps: not ≤ 40, not re-armed
		add(6, 0, 6, S, 100.30, 100),       // 29.96 bps: re-armed
		l3(tick.KindDelete, 7, 0, 6, 0, 0), // back to 44.9: below 50
		l3(tick.KindDelete, 8, 0, 5, 0, 0), // 59.8 bps: fires up again
	})
	checkFired(t, sigs, []fired{{3, 1}, {8, 1}})
	if v := sigs[0].Values; v[1] != 100 || v[2] != 101 || v[0] < 99.5 || v[0] > 99.51 || sigs[0].Price != px(100.5) {
		t.Fatalf("signal %+v", sigs[0])
	}
	if typ, _, names := r.Info(); typ != "spread" || names[0] != "spread_bps" {
		t.Fatalf("info %q %v", typ, names)
	}
}

func TestImbalanceRule(t *testing.T) {
	B, S := tick.SideBuy, tick.SideSell
	r := RuleSpec{ID: "imb", Type: RuleImbalance, K: 0.5, Levels: 2}
	sigs := bookSigs(t, []RuleSpec{r}, []tick.Event{
		add(0, 0, 1, B, 10.00, 100),
		add(1, 0, 2, S, 10.01, 100),  // 0: first evaluation
		add(2, 0, 3, B, 9.99, 400),   // (500−100)/600 = 0.67 > 0.5: fires up
		add(3, 0, 4, B, 9.98, 10000), // third level: outside Levels, no change of v
		add(4, 0, 5, S, 10.02, 900),  // (500−1000)/1500 = −0.33: re-armed, no fire
		add(5, 0, 6, S, 10.01, 1000), // (500−2000)/2500 = −0.6: fires down
	})
	checkFired(t, sigs, []fired{{2, 1}, {5, -1}})
}

func TestTradeThroughRule(t *testing.T) {
	B, S := tick.SideBuy, tick.SideSell
	trade := func(ms int64, p float64) tick.Event {
		return tick.Event{Kind: tick.KindTrade, Symbol: 0, TsEvent: t0 + ms*1e6, Price: px(p), Qty: 100}
	}
	r := RuleSpec{ID: "tt", Type: RuleTradeThrough, Bps: 0}
	sigs := bookSigs(t, []RuleSpec{r}, []tick.Event{
		trade(0, 10.00),             // no book: not evaluated
		add(1, 0, 1, B, 10.00, 100), //
		add(2, 0, 2, S, 10.02, 100), //
		trade(3, 10.01),             // inside: first evaluation
		trade(4, 10.03),             // 1e4·0.01/10.01 ≈ 9.99 bps through the ask: fires up
		trade(5, 10.04),             // still through: not re-armed
		trade(6, 10.01),             // inside: re-armed
		l3(tick.KindExecutePrice, 7, 0, 1, 9.98, 100), // through the bid as it stood: fires down
	})
	checkFired(t, sigs, []fired{{4, 1}, {7, -1}})
	if v := sigs[0].Values; v[1] != 10 || v[2] != 10.02 || v[0] < 9.99 || v[0] > 10 {
		t.Fatalf("signal %+v", sigs[0])
	}
}

// TestBookRulesSkipACrossedBook: a crossed book (best bid above best ask:
// a feed joined mid-day, or orders lost in a gap) has no touch, so neither
// a trade printed between its ask and bid nor its negative spread fires a
// rule; a locked one still has one.
func TestBookRulesSkipACrossedBook(t *testing.T) {
	B, S := tick.SideBuy, tick.SideSell
	trade := func(ms int64, p float64) tick.Event {
		return tick.Event{Kind: tick.KindTrade, Symbol: 0, TsEvent: t0 + ms*1e6, Price: px(p), Qty: 100}
	}
	rules := []RuleSpec{{ID: "tt", Type: RuleTradeThrough, Bps: 0}, {ID: "wide", Type: RuleSpread, Bps: 5, Dir: DirBoth}}
	sigs := bookSigs(t, rules, []tick.Event{
		add(0, 0, 1, B, 10.00, 100),
		add(1, 0, 2, S, 10.02, 100),        // 20 bps: spread above 5, first evaluation
		trade(2, 10.01),                    // inside: first evaluation
		add(3, 0, 3, B, 10.05, 100),        // crossed: no touch, no spread
		trade(4, 10.03),                    // above the ask, below the bid: not through anything
		trade(5, 10.10),                    // above both
		l3(tick.KindDelete, 6, 0, 3, 0, 0), // uncrossed: 20 bps, as before
		add(7, 0, 4, B, 10.02, 100),        // locked: 0 bps < 5 fires down
		trade(8, 10.03),                    // through the locked touch: fires up
	})
	checkFired(t, sigs, []fired{{7, -1}, {8, 1}})
}

func TestBookRuleValidation(t *testing.T) {
	for _, r := range []RuleSpec{
		{ID: "r", Type: RuleSpread},
		{ID: "r", Type: RuleSpread, Bps: -1},
		{ID: "r", Type: RuleTradeThrough, Bps: -1},
		{ID: "r", Type: RuleImbalance, K: 1},
		{ID: "r", Type: RuleImbalance, K: 0.5, Levels: -1},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("%+v validated", r)
		}
	}
	for _, r := range DefaultBookRules() {
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBBOsMatchBookReference: over a long random L3 stream on several
// symbols and two shards, the engine publishes one BBO per change of a
// touch, and the last one per symbol is that symbol's final touch in a
// book.Books fed the same events directly.
func TestBBOsMatchBookReference(t *testing.T) {
	const nsym = 8
	names := make([]string, nsym)
	for i := range names {
		names[i] = string(rune('A'+i)) + "X"
	}
	e, _ := newTestEngine(t, Config{Shards: 2}, names...)
	ref := referenceBooks(t)
	r := rand.New(rand.NewPCG(7, 8))
	type live struct {
		ref uint64
		sym tick.SymbolID
		qty int64
	}
	var orders []live
	var evs []tick.Event
	changes := make([]int, nsym)
	next := uint64(1)
	for i := range 20000 {
		var ev tick.Event
		if len(orders) < 50 || r.IntN(3) == 0 {
			sym := tick.SymbolID(r.IntN(nsym))
			side := tick.Side(1 + r.IntN(2))
			p := 100 + float64(r.IntN(20))/100
			if side == tick.SideSell {
				p += 0.25
			}
			ev = add(int64(i), sym, next, side, p, int64(1+r.IntN(5))*100)
			orders = append(orders, live{next, sym, ev.Qty})
			next++
		} else {
			k := r.IntN(len(orders))
			o := &orders[k]
			switch r.IntN(3) {
			case 0:
				ev = l3(tick.KindExecute, int64(i), o.sym, o.ref, 0, 100)
				o.qty -= 100
			case 1:
				ev = l3(tick.KindCancel, int64(i), o.sym, o.ref, 0, 100)
				o.qty -= 100
			default:
				ev = l3(tick.KindDelete, int64(i), o.sym, o.ref, 0, 0)
				o.qty = 0
			}
			if o.qty == 0 {
				orders[k] = orders[len(orders)-1]
				orders = orders[:len(orders)-1]
			}
		}
		if res := ref.Apply(&ev); res.Flags&book.FlagBBO != 0 {
			changes[res.Symbol]++
		}
		evs = append(evs, ev)
	}
	outs := runEngine(t, e, evs)
	last := make([]tick.BBO, nsym)
	got := make([]int, nsym)
	for _, o := range outs {
		if o.Kind == tick.OutBBO {
			got[o.BBO.Symbol]++
			last[o.BBO.Symbol] = o.BBO
		}
	}
	for s := range nsym {
		bk := ref.Book(tick.SymbolID(s))
		b, _ := bk.BestBid()
		a, _ := bk.BestAsk()
		l := last[s]
		if got[s] != changes[s] || l.Bid != b.Price || l.BidShares != b.Shares || int(l.BidOrders) != b.Orders ||
			l.Ask != a.Price || l.AskShares != a.Shares || int(l.AskOrders) != a.Orders {
			t.Fatalf("symbol %d: %d BBOs (want %d), last %+v, book bid %+v ask %+v", s, got[s], changes[s], l, b, a)
		}
	}
	if c := e.Counters(); c.BookRejected != 0 || c.BookEvents != uint64(len(evs)) {
		t.Fatalf("counters %+v", c)
	}
}

// runEngine runs e with one input fed evs and returns every output record,
// all shards together.
func runEngine(t *testing.T, e *Engine, evs []tick.Event) []tick.Out {
	t.Helper()
	results := collect(e)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	in, err := e.NewInput("test")
	if err != nil {
		t.Fatal(err)
	}
	feed(in, evs)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var all []tick.Out
	for _, recs := range results() {
		all = append(all, recs...)
	}
	return all
}

// mixedStream is trades of symbols 0–3 and L3 events of symbol 4 (five
// symbols: A to E), and a config with every trade and book rule, so that
// they yield records of every kind.
func mixedStream() (Config, []tick.Event) {
	cfg := Config{Rules: append(benchRules, DefaultBookRules()...), Bars: []time.Duration{time.Second}}
	evs := genStream(3, 0, 4, 5000)
	B, S := tick.SideBuy, tick.SideSell
	for i := range 2000 { // L3 events on symbol 4 between the trades
		side, p := B, 100-float64(i%10)/100
		if i%2 == 1 {
			side, p = S, 100.2+float64(i%10)/100
		}
		evs = append(evs, add(int64(i), 4, uint64(i+1), side, p, 100))
		if i%3 == 2 {
			evs = append(evs, l3(tick.KindExecute, int64(i), 4, uint64(i), 0, 100))
		}
	}
	return cfg, evs
}

// TestStepMatchesEngine: a Step yields exactly the records a one-shard
// Engine does from the same trades and L3 events, in the same order.
func TestStepMatchesEngine(t *testing.T) {
	cfg, evs := mixedStream()
	e, syms := newTestEngine(t, cfg, "A", "B", "C", "D", "E")
	want := runEngine(t, e, evs)
	st, err := NewStep(cfg, syms)
	if err != nil {
		t.Fatal(err)
	}
	var got []tick.Out
	st.Process(evs, func(o *tick.Out) { got = append(got, *o) })
	st.Process([]tick.Event{{Kind: tick.KindEndOfStream}}, func(o *tick.Out) { got = append(got, *o) })
	if len(got) != len(want) {
		t.Fatalf("Step: %d records, Engine: %d", len(got), len(want))
	}
	kinds := map[tick.OutKind]int{}
	for i := range want {
		if !sameOut(&got[i], &want[i]) {
			t.Fatalf("record %d: Step %+v, Engine %+v", i, got[i], want[i])
		}
		kinds[got[i].Kind]++
	}
	if kinds[tick.OutBBO] == 0 || kinds[tick.OutBar] == 0 || kinds[tick.OutSignal] == 0 {
		t.Fatalf("records by kind %v: the stream should yield every kind", kinds)
	}
	if c := st.Counters(); c.Events != uint64(len(evs)+1) || c.BookEvents == 0 {
		t.Fatalf("counters %+v", c)
	}
	if _, err := NewStep(Config{Shards: 2}, syms); err == nil {
		t.Fatal("NewStep accepted 2 shards")
	}
}

// sameOut compares the members two records' Kind names (the others are
// stale slot contents).
func sameOut(a, b *tick.Out) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case tick.OutSignal:
		return a.Signal == b.Signal
	case tick.OutBar:
		return a.Bar == b.Bar
	case tick.OutStats:
		return a.Stats == b.Stats
	case tick.OutBBO:
		return a.BBO == b.BBO
	}
	return true
}

// TestDropBackpressure: with nobody consuming, a Drop input fills its ring
// and then drops (and counts) the newest events instead of waiting, with
// one shard (whole batches) and with several (per event).
func TestDropBackpressure(t *testing.T) {
	for _, shards := range []int{1, 2} {
		e, _ := newTestEngine(t, Config{Shards: shards, RingCapacity: 64}, "A", "B")
		in, err := e.NewInputWith("udp", Drop)
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		for range 40 {
			slots := in.Claim(16)
			for i := range slots {
				slots[i] = trade(tick.SymbolID(sent%2), t0+int64(sent), 10, 1)
				sent++
			}
			in.Commit(len(slots))
		}
		in.Close()
		kept := 64 * shards // each shard's ring holds 64
		if c := e.Counters(); c.Dropped != uint64(sent-kept) {
			t.Fatalf("%d shards: %d sent, %d dropped, want %d", shards, sent, c.Dropped, sent-kept)
		}
	}
	if b, err := ParseBackpressure("drop"); err != nil || b != Drop || b.String() != "drop" {
		t.Fatalf("ParseBackpressure(drop) = %v, %v", b, err)
	}
	if _, err := ParseBackpressure("maybe"); err == nil {
		t.Fatal("ParseBackpressure accepted maybe")
	}
}

// TestDeepBookChangesSkipRules: book rules are evaluated only on changes
// within the levels they read (Result.Rank below symbol.bookDepth). A Step
// that evaluates them on every change yields exactly the same records
// from a stream whose books are 20 levels deep, most changes below the
// rules' 1 and 3 levels.
func TestDeepBookChangesSkipRules(t *testing.T) {
	cfg := Config{Rules: []RuleSpec{
		{ID: "spread", Type: RuleSpread, Bps: 2.5, Hysteresis: 1},
		{ID: "imbalance", Type: RuleImbalance, K: 0.3, Levels: 3, Hysteresis: 0.05},
	}}
	syms := tick.NewSymbolTable(16)
	for _, n := range []string{"A", "B", "C"} {
		if _, err := syms.Intern(n); err != nil {
			t.Fatal(err)
		}
	}
	ref := referenceBooks(t)
	r := rand.New(rand.NewPCG(11, 12))
	type live struct {
		ref uint64
		sym tick.SymbolID
	}
	var orders []live
	var evs []tick.Event
	deep, next := 0, uint64(1)
	for i := range 30000 {
		var ev tick.Event
		if len(orders) < 120 || r.IntN(2) == 0 {
			sym := tick.SymbolID(r.IntN(3))
			side := tick.Side(1 + r.IntN(2))
			p := 100 - float64(1+r.IntN(20))/100
			if side == tick.SideSell {
				p = 100 + float64(r.IntN(20))/100
			}
			ev = add(int64(i), sym, next, side, p, int64(1+r.IntN(5))*100)
			orders = append(orders, live{next, sym})
			next++
		} else {
			k := r.IntN(len(orders))
			ev = l3(tick.KindDelete, int64(i), orders[k].sym, orders[k].ref, 0, 0)
			orders[k] = orders[len(orders)-1]
			orders = orders[:len(orders)-1]
		}
		if res := ref.Apply(&ev); res.Flags&book.FlagBook != 0 && res.Rank >= 3 {
			deep++
		}
		evs = append(evs, ev)
	}
	run := func(every bool) []tick.Out {
		evalBookRulesOnEveryChange = every
		defer func() { evalBookRulesOnEveryChange = false }()
		st, err := NewStep(cfg, syms)
		if err != nil {
			t.Fatal(err)
		}
		var outs []tick.Out
		st.Process(evs, func(o *tick.Out) { outs = append(outs, *o) })
		return outs
	}
	want, got := run(true), run(false)
	var signals [2]int // by rule
	for i := range min(len(got), len(want)) {
		if !sameOut(&got[i], &want[i]) {
			t.Fatalf("record %d: skipping deep changes %+v, evaluating every change %+v", i, got[i], want[i])
		}
		if got[i].Kind == tick.OutSignal {
			signals[got[i].Signal.Rule]++
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d records skipping deep changes, %d evaluating every change", len(got), len(want))
	}
	if signals[0] < 50 || signals[1] < 50 || deep < len(evs)/2 {
		t.Fatalf("signals by rule %v, %d of %d changes below level 3: the stream should exercise each", signals, deep, len(evs))
	}
	t.Logf("%d records, signals by rule %v; %d of %d events changed the books below level 3", len(got), signals, deep, len(evs))
}

// referenceBooks returns Books of the default size, for a test to apply its
// stream to on the side and compare the engine's output with.
func referenceBooks(t *testing.T) *book.Books {
	t.Helper()
	b, err := book.New(book.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIdleShardGrowsOrderTable: a shard whose input is idle grows its
// order table at half load (book.Books.Maintain), so that no Apply has to.
// Six adds share one window slot of books sized for 4 orders (a 16-slot
// window, an 8-slot table): five move to the table, under the 3/4 at which
// an Apply grows it, over the 1/2 at which the idle shard does.
func TestIdleShardGrowsOrderTable(t *testing.T) {
	e, _ := newTestEngine(t, Config{Shards: 1, BookOrders: 4}, "A")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	in, err := e.NewInput("test")
	if err != nil {
		t.Fatal(err)
	}
	var evs []tick.Event
	for k := range 6 {
		evs = append(evs, add(int64(k), 0, uint64(1+16*k), tick.SideBuy, 100-float64(k)/100, 100))
	}
	feed(in, evs)
	deadline := time.Now().Add(5 * time.Second)
	for e.Counters().Book[book.ReasonGrowTable] == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := e.Counters()
	if c.Book[book.ReasonGrowTable] != 1 || c.Book[book.ReasonAdd] != 6 || c.Orders != 6 {
		t.Fatalf("grow_table %d, adds %d, orders %d; want 1, 6, 6", c.Book[book.ReasonGrowTable], c.Book[book.ReasonAdd], c.Orders)
	}
}
