package itch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

func hd(loc uint16, ts uint64) Header { return Header{Locate: loc, Tracking: 9, Timestamp: ts} }

func newTestDecoder(t testing.TB, date time.Time) (*Decoder, *tick.SymbolTable) {
	t.Helper()
	syms := tick.NewSymbolTable(0)
	d, err := NewDecoder(Options{Symbols: syms, SessionDate: date, Source: 7})
	if err != nil {
		t.Fatal(err)
	}
	return d, syms
}

func TestDecoderMapping(t *testing.T) {
	date := time.Date(2019, 12, 30, 15, 0, 0, 0, time.UTC)
	d, syms := newTestDecoder(t, date)
	d.SetRecvTime(42)
	midnight := time.Date(2019, 12, 30, 5, 0, 0, 0, time.UTC).UnixNano() // EST is UTC-5
	const ts = 34_200_000_000_000                                        // 09:30
	const loc = 5
	var ev tick.Event
	decode := func(msg []byte) tick.Event {
		t.Helper()
		ev = tick.Event{Kind: 99}
		ok, err := d.Decode(msg, &ev)
		if err != nil || !ok {
			t.Fatalf("%c: ok=%v err=%v", msg[0], ok, err)
		}
		return ev
	}
	got := decode(AppendStockDirectory(nil, StockDirectory{Header: hd(loc, ts), Stock: MakeStock("ALC"), RoundLotSize: 100}))
	alc, ok := syms.LookupString("ALC")
	if !ok {
		t.Fatal("R did not intern ALC")
	}
	base := tick.Event{TsEvent: midnight + ts, TsRecv: 42, Symbol: alc, Source: 7}
	expect := func(got tick.Event, seq uint64, w tick.Event) {
		t.Helper()
		w.Seq, w.TsEvent, w.TsRecv, w.Symbol, w.Source = seq, base.TsEvent, base.TsRecv, w.Symbol+base.Symbol, base.Source
		if got != w {
			t.Errorf("seq %d:\n got %+v\nwant %+v", seq, got, w)
		}
	}
	expect(got, 1, tick.Event{Kind: tick.KindDirectory, Qty: 100})
	expect(decode(AppendAddOrder(nil, AddOrder{hd(loc, ts), 11, 'B', 300, MakeStock("ALC"), px4(1234500)})), 2,
		tick.Event{Kind: tick.KindAdd, OrderRef: 11, Side: tick.SideBuy, Price: 123_450_000_000, Qty: 300})
	expect(decode(AppendAddOrderMPID(nil, AddOrderMPID{AddOrder{hd(loc, ts), 12, 'S', 5, MakeStock("ALC"), px4(10001)}, [4]byte{'A', 'B', 'C', 'D'}})), 3,
		tick.Event{Kind: tick.KindAdd, OrderRef: 12, Side: tick.SideSell, Price: 1_000_100_000, Qty: 5})
	expect(decode(AppendOrderExecuted(nil, OrderExecuted{hd(loc, ts), 11, 100, 555})), 4,
		tick.Event{Kind: tick.KindExecute, OrderRef: 11, NewRef: 555, Qty: 100})
	expect(decode(AppendOrderExecutedPrice(nil, OrderExecutedPrice{OrderExecuted{hd(loc, ts), 11, 50, 556}, 'Y', px4(1234600)})), 5,
		tick.Event{Kind: tick.KindExecutePrice, OrderRef: 11, NewRef: 556, Price: 123_460_000_000, Qty: 50})
	expect(decode(AppendOrderExecutedPrice(nil, OrderExecutedPrice{OrderExecuted{hd(loc, ts), 11, 50, 557}, 'N', px4(1234600)})), 6,
		tick.Event{Kind: tick.KindExecuteNoPrint, OrderRef: 11, NewRef: 557, Price: 123_460_000_000, Qty: 50})
	expect(decode(AppendOrderCancel(nil, OrderCancel{hd(loc, ts), 11, 20})), 7,
		tick.Event{Kind: tick.KindCancel, OrderRef: 11, Qty: 20})
	expect(decode(AppendOrderDelete(nil, OrderDelete{hd(loc, ts), 12})), 8,
		tick.Event{Kind: tick.KindDelete, OrderRef: 12})
	expect(decode(AppendOrderReplace(nil, OrderReplace{hd(loc, ts), 11, 13, 400, px4(1234400)})), 9,
		tick.Event{Kind: tick.KindReplace, OrderRef: 11, NewRef: 13, Price: 123_440_000_000, Qty: 400})
	expect(decode(AppendTrade(nil, Trade{hd(loc, ts), 77, 'S', 10, MakeStock("ALC"), px4(1234500), 558})), 10,
		tick.Event{Kind: tick.KindTrade, NewRef: 558, Price: 123_450_000_000, Qty: 10, Side: tick.SideSell})
	expect(decode(AppendCrossTrade(nil, CrossTrade{hd(loc, ts), 1000, MakeStock("ALC"), px4(1234500), 559, 'O'})), 11,
		tick.Event{Kind: tick.KindCrossTrade, NewRef: 559, Price: 123_450_000_000, Qty: 1000, Side: tick.Side('O')})
	expect(decode(AppendBrokenTrade(nil, BrokenTrade{hd(loc, ts), 558})), 12,
		tick.Event{Kind: tick.KindBrokenTrade, NewRef: 558})
	expect(decode(AppendStockTradingAction(nil, StockTradingAction{Header: hd(loc, ts), Stock: MakeStock("ALC"), TradingState: 'H'})), 13,
		tick.Event{Kind: tick.KindTradingState, Qty: 'H'})
	sys := decode(AppendSystemEvent(nil, SystemEvent{hd(0, ts), 'Q'}))
	want := base
	want.Seq, want.Kind, want.Qty, want.Symbol = 14, tick.KindSystem, 'Q', 0 // S carries no stock: Symbol 0
	if sys != want {
		t.Errorf("S:\n got %+v\nwant %+v", sys, want)
	}

	// The types that map to no event: validated, counted, ev untouched.
	quiet := [][]byte{
		AppendRegSHORestriction(nil, RegSHORestriction{Header: hd(loc, ts), Stock: MakeStock("ALC")}),
		AppendMarketParticipantPosition(nil, MarketParticipantPosition{Header: hd(loc, ts), Stock: MakeStock("ALC")}),
		AppendMWCBDeclineLevel(nil, MWCBDeclineLevel{Header: hd(0, ts)}),
		AppendMWCBStatus(nil, MWCBStatus{Header: hd(0, ts)}),
		AppendIPOQuotingPeriod(nil, IPOQuotingPeriod{Header: hd(loc, ts)}),
		AppendLULDAuctionCollar(nil, LULDAuctionCollar{Header: hd(loc, ts)}),
		AppendOperationalHalt(nil, OperationalHalt{Header: hd(loc, ts)}),
		AppendNOII(nil, NOII{Header: hd(loc, ts)}),
		AppendRetailPriceImprovement(nil, RetailPriceImprovement{Header: hd(loc, ts)}),
		AppendDirectListing(nil, DirectListing{Header: hd(loc, ts)}),
	}
	for _, m := range quiet {
		ev = tick.Event{Kind: 99}
		if ok, err := d.Decode(m, &ev); ok || err != nil || ev.Kind != 99 {
			t.Errorf("%c: ok=%v err=%v ev=%+v", m[0], ok, err, ev)
		}
	}
	c := d.Counters()
	if c.Messages != 24 || c.Events != 14 || c.Ignored != 10 || c.Rejected() != 0 {
		t.Errorf("counters: %+v", c)
	}
	for _, typ := range Types {
		want := uint64(1)
		if typ == 'C' {
			want = 2
		}
		if c.ByType[typ] != want {
			t.Errorf("ByType[%c] = %d, want %d", typ, c.ByType[typ], want)
		}
	}
	if id, ok := d.Symbol(loc); !ok || id != alc {
		t.Errorf("Symbol(%d) = %d, %v", loc, id, ok)
	}
	var eos tick.Event
	d.EndOfStream(&eos)
	if eos.Kind != tick.KindEndOfStream || eos.TsEvent != midnight+ts || eos.Seq != 25 {
		t.Errorf("EndOfStream: %+v", eos)
	}
}

func TestDecoderDefaultTime(t *testing.T) {
	d, _ := newTestDecoder(t, time.Time{})
	var ev tick.Event
	if ok, err := d.Decode(AppendSystemEvent(nil, SystemEvent{hd(0, 12345), 'O'}), &ev); !ok || err != nil || ev.TsEvent != 12345 {
		t.Errorf("default session date: ok=%v err=%v TsEvent=%d, want raw ns since midnight", ok, err, ev.TsEvent)
	}
	// Summer: EDT is UTC-4.
	m, err := SessionMidnight(time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || m != time.Date(2024, 7, 1, 4, 0, 0, 0, time.UTC).UnixNano() {
		t.Errorf("SessionMidnight(2024-07-01) = %d, %v", m, err)
	}
	if _, err := NewDecoder(Options{}); err == nil {
		t.Error("NewDecoder without Symbols succeeded")
	}
}

func TestDecoderUnannouncedLocate(t *testing.T) {
	d, syms := newTestDecoder(t, time.Time{})
	var ev tick.Event
	// E on a locate nobody announced: rejected, ev untouched.
	ok, err := d.Decode(AppendOrderExecuted(nil, OrderExecuted{hd(7, 1), 1, 1, 1}), &ev)
	if ok || !errors.Is(err, ReasonUnknownLocate) || ev != (tick.Event{}) {
		t.Fatalf("E on unknown locate: ok=%v err=%v ev=%+v", ok, err, ev)
	}
	// A carries its stock: interned, and the locate now maps to it.
	if ok, err := d.Decode(AppendAddOrder(nil, AddOrder{hd(7, 2), 1, 'B', 1, MakeStock("NEW"), px4(1)}), &ev); !ok || err != nil {
		t.Fatalf("A on unknown locate: %v %v", ok, err)
	}
	id, found := syms.LookupString("NEW")
	if !found || ev.Symbol != id {
		t.Fatalf("A did not intern its stock: %v %d", found, ev.Symbol)
	}
	if ok, err := d.Decode(AppendOrderExecuted(nil, OrderExecuted{hd(7, 3), 1, 1, 1}), &ev); !ok || err != nil || ev.Symbol != id {
		t.Errorf("E after A mapped the locate: %v %v %d", ok, err, ev.Symbol)
	}
}

// TestDecoderLocateZero: locate 0 is ITCH's "no stock", so it maps to no
// stock: adds on it resolve their own stock field each time (not the first
// one's, which would merge every stock of a file without locates into
// one), and an execution on it, which names no stock, is rejected.
func TestDecoderLocateZero(t *testing.T) {
	d, syms := newTestDecoder(t, time.Time{})
	var ev tick.Event
	for i, name := range []string{"AAA", "BBB", "AAA"} {
		ok, err := d.Decode(AppendAddOrder(nil, AddOrder{hd(0, 1), uint64(i + 1), 'B', 1, MakeStock(name), px4(1)}), &ev)
		if id, found := syms.LookupString(name); !ok || err != nil || !found || ev.Symbol != id {
			t.Fatalf("A %d of %s on locate 0: %v %v, symbol %d; want %s's id %d", i+1, name, ok, err, ev.Symbol, name, id)
		}
	}
	if ok, err := d.Decode(AppendOrderExecuted(nil, OrderExecuted{hd(0, 2), 2, 1, 1}), &ev); ok || !errors.Is(err, ReasonUnknownLocate) {
		t.Fatalf("E on locate 0: %v %v; want ReasonUnknownLocate", ok, err)
	}
	if _, found := d.Symbol(0); found {
		t.Fatal("locate 0 mapped to a stock")
	}
}

// decoderBefore returns a decoder that has decoded every message of msgs
// but the last, the one a case is about; with full its symbol table holds
// one symbol and no room for another. what names the case in a failure.
func decoderBefore(t *testing.T, full bool, msgs [][]byte, what string) *Decoder {
	t.Helper()
	syms := tick.NewSymbolTable(0)
	if full {
		syms = tick.NewSymbolTable(1)
		if _, err := syms.Intern("ONLY"); err != nil {
			t.Fatal(err)
		}
	}
	d, err := NewDecoder(Options{Symbols: syms})
	if err != nil {
		t.Fatal(err)
	}
	var ev tick.Event
	for i, m := range msgs[:len(msgs)-1] {
		if ok, err := d.Decode(m, &ev); !ok || err != nil {
			t.Fatalf("%s: setup message %d: %v %v", what, i, ok, err)
		}
	}
	return d
}

func TestDecoderRejections(t *testing.T) {
	r := func(loc uint16, s string) []byte {
		return AppendStockDirectory(nil, StockDirectory{Header: hd(loc, 1), Stock: MakeStock(s)})
	}
	add := func(loc uint16, side byte, s string) []byte {
		return AppendAddOrder(nil, AddOrder{hd(loc, 1), 1, side, 1, MakeStock(s), px4(1)})
	}
	cases := []struct {
		name string
		full bool
		msgs [][]byte // all but the last must decode
		want error
	}{
		{"empty", false, [][]byte{{}}, ReasonEmpty},
		{"bad length", false, [][]byte{add(1, 'B', "A")[:30]}, ReasonBadLength},
		{"too long", false, [][]byte{append(add(1, 'B', "A"), 0)}, ReasonBadLength},
		{"unknown locate", false, [][]byte{AppendOrderDelete(nil, OrderDelete{hd(3, 1), 1})}, ReasonUnknownLocate},
		{"unknown locate B", false, [][]byte{AppendBrokenTrade(nil, BrokenTrade{hd(3, 1), 1})}, ReasonUnknownLocate},
		{"bad side A", false, [][]byte{r(1, "A"), add(1, 'x', "A")}, ReasonBadSide},
		{"bad side P", false, [][]byte{r(1, "A"), AppendTrade(nil, Trade{hd(1, 1), 0, 0, 1, MakeStock("A"), 1, 1})}, ReasonBadSide},
		{"bad printable", false, [][]byte{r(1, "A"), AppendOrderExecutedPrice(nil, OrderExecutedPrice{OrderExecuted{hd(1, 1), 1, 1, 1}, 'y', 1})}, ReasonBadPrintable},
		{"blank stock R", false, [][]byte{r(1, "")}, ReasonBadSymbol},
		{"control byte stock A", false, [][]byte{add(2, 'B', "A\x01")}, ReasonBadSymbol},
		{"leading space", false, [][]byte{r(1, " A")}, ReasonBadSymbol},
		{"table full", true, [][]byte{r(1, "ONLY"), r(2, "TWO")}, ReasonSymbolTableFull},
		{"price range V", false, [][]byte{hdr('V').u64(0).u64(1 << 62).u64(0).b}, ReasonPriceRange},
		{"qty range Q", false, [][]byte{r(1, "A"), AppendCrossTrade(nil, CrossTrade{hd(1, 1), 1 << 63, MakeStock("A"), 1, 1, 'O'})}, ReasonQtyRange},
		// Two crosses near 2^62 shares would wrap the symbol's int64 volume.
		{"qty above MaxQty Q", false, [][]byte{r(1, "A"), AppendCrossTrade(nil, CrossTrade{hd(1, 1), tick.MaxQty + 1, MakeStock("A"), 1, 1, 'O'})}, ReasonQtyRange},
		// A F H P Q naming another stock than their locate's: neither stock's.
		{"stock mismatch A", false, [][]byte{r(1, "A"), r(2, "B"), add(1, 'B', "B")}, ReasonStockMismatch},
		{"stock mismatch F", false, [][]byte{r(1, "A"), AppendAddOrderMPID(nil, AddOrderMPID{AddOrder{hd(1, 1), 1, 'B', 1, MakeStock("AB"), px4(1)}, [4]byte{'M', 'P', 'I', 'D'}})}, ReasonStockMismatch},
		{"stock mismatch P", false, [][]byte{r(1, "A"), AppendTrade(nil, Trade{hd(1, 1), 0, 'B', 1, MakeStock("B"), 1, 1})}, ReasonStockMismatch},
		{"stock mismatch Q", false, [][]byte{r(1, "A"), AppendCrossTrade(nil, CrossTrade{hd(1, 1), 1, MakeStock("B"), 1, 1, 'O'})}, ReasonStockMismatch},
		{"stock mismatch H", false, [][]byte{r(1, "A"), AppendStockTradingAction(nil, StockTradingAction{Header: hd(1, 1), Stock: MakeStock("B"), TradingState: 'T'})}, ReasonStockMismatch},
		// A locate announced by the first add on it, with no R (a file joined mid-session).
		{"stock mismatch after an add announced the locate", false, [][]byte{add(2, 'B', "A"), add(2, 'B', "B")}, ReasonStockMismatch},
	}
	for _, c := range cases {
		d := decoderBefore(t, c.full, c.msgs, c.name)
		ev := tick.Event{Kind: 99}
		ok, err := d.Decode(c.msgs[len(c.msgs)-1], &ev)
		if ok || err != c.want || !errors.Is(err, c.want) || ev.Kind != 99 {
			t.Errorf("%s: ok=%v err=%v ev.Kind=%d, want %v and ev untouched", c.name, ok, err, ev.Kind, c.want)
		}
		cnt := d.Counters()
		if cnt.ByReason[c.want.(Reason)] != 1 || cnt.Rejected() != 1 || cnt.Messages != uint64(len(c.msgs)) {
			t.Errorf("%s: counters %+v", c.name, cnt.ByReason)
		}
	}
	// Unknown type: skipped and counted, not an error.
	d, _ := newTestDecoder(t, time.Time{})
	var ev tick.Event
	if ok, err := d.Decode([]byte{'z', 1, 2, 3}, &ev); ok || err != nil {
		t.Errorf("unknown type: ok=%v err=%v", ok, err)
	}
	if c := d.Counters(); c.ByReason[ReasonUnknownType] != 1 || c.ByType['z'] != 1 || c.Messages != 1 {
		t.Errorf("unknown type counters: %+v", c.ByReason)
	}
}

func TestDecoderNoAllocs(t *testing.T) {
	d, _ := newTestDecoder(t, time.Date(2019, 12, 30, 0, 0, 0, 0, time.UTC))
	msgs := splitFrames(t, genStream(2000, 1))
	var ev tick.Event
	for _, m := range msgs { // warm up: intern the symbols
		if _, err := d.Decode(m, &ev); err != nil {
			t.Fatal(err)
		}
	}
	a := testing.AllocsPerRun(20, func() {
		for _, m := range msgs {
			_, _ = d.Decode(m, &ev)
		}
	})
	if a != 0 {
		t.Errorf("Decode allocates %v per %d messages", a, len(msgs))
	}
}

// TestDecoderLocateReassigned: an R naming another stock for a locate that
// had one moves the locate, but not its orders: an execution, cancel,
// delete or replace of an order names the stock the order was added under
// (the engine routes by it, to the shard holding the order), whatever the
// locate names since. The R may follow orders on a locate no R announced.
func TestDecoderLocateReassigned(t *testing.T) {
	d, syms := newTestDecoder(t, time.Time{})
	id := func(name string) tick.SymbolID {
		id, ok := syms.LookupString(name)
		if !ok {
			t.Fatalf("%s not interned", name)
		}
		return id
	}
	r := func(loc uint16, s string) []byte {
		return AppendStockDirectory(nil, StockDirectory{Header: hd(loc, 1), Stock: MakeStock(s)})
	}
	add := func(loc uint16, ref uint64, s string) []byte {
		return AppendAddOrder(nil, AddOrder{hd(loc, 1), ref, 'B', 100, MakeStock(s), px4(1)})
	}
	exec := func(loc uint16, ref uint64) []byte {
		return AppendOrderExecuted(nil, OrderExecuted{hd(loc, 1), ref, 1, 1})
	}
	del := func(loc uint16, ref uint64) []byte { return AppendOrderDelete(nil, OrderDelete{hd(loc, 1), ref}) }
	cancel := func(loc uint16, ref uint64) []byte { return AppendOrderCancel(nil, OrderCancel{hd(loc, 1), ref, 1}) }
	replace := func(loc uint16, ref, nref uint64) []byte {
		return AppendOrderReplace(nil, OrderReplace{hd(loc, 1), ref, nref, 100, px4(2)})
	}
	steps := []struct {
		msg  []byte
		want string // the stock of the event
	}{
		{r(1, "AAA"), "AAA"}, {add(1, 1, "AAA"), "AAA"}, {add(1, 2, "AAA"), "AAA"},
		{r(1, "BBB"), "BBB"}, {add(1, 3, "BBB"), "BBB"},
		{exec(1, 1), "AAA"}, {exec(1, 3), "BBB"}, {cancel(1, 2), "AAA"},
		{replace(1, 2, 4), "AAA"}, {exec(1, 4), "AAA"}, {replace(1, 3, 5), "BBB"}, {exec(1, 5), "BBB"},
		{AppendBrokenTrade(nil, BrokenTrade{hd(1, 1), 1}), "BBB"}, // a break names a match, not an order: the locate's stock
		{r(1, "CCC"), "CCC"}, {add(1, 6, "CCC"), "CCC"}, {del(1, 5), "BBB"}, {exec(1, 6), "CCC"}, {del(1, 4), "AAA"},
		{r(1, "AAA"), "AAA"}, {add(1, 7, "AAA"), "AAA"}, {exec(1, 7), "AAA"}, {exec(1, 6), "CCC"},
		// Locate 2 announced by its first add, then by an R for another stock.
		{add(2, 8, "DDD"), "DDD"}, {r(2, "EEE"), "EEE"}, {add(2, 9, "EEE"), "EEE"}, {exec(2, 8), "DDD"}, {exec(2, 9), "EEE"},
		// The same stock again does not move a locate.
		{r(3, "FFF"), "FFF"}, {r(3, "FFF"), "FFF"}, {add(3, 10, "FFF"), "FFF"}, {exec(3, 10), "FFF"},
	}
	for i, s := range steps {
		var ev tick.Event
		ok, err := d.Decode(s.msg, &ev)
		if !ok || err != nil || ev.Symbol != id(s.want) {
			t.Fatalf("step %d (%c): %v %v, symbol %q; want %s", i, s.msg[0], ok, err, syms.Name(ev.Symbol), s.want)
		}
	}
	if sym, ok := d.Symbol(1); !ok || sym != id("AAA") {
		t.Errorf("locate 1 maps to %q, want AAA", syms.Name(sym))
	}
	// Noted: the orders not of their locate's first stock, until deleted or
	// replaced: 6 (CCC) and 9 (EEE); 3 was replaced by 5, 5 deleted.
	if n := len(d.movedOrders); n != 2 {
		t.Errorf("%d orders noted on moved locates, want 2 (6 and 9)", n)
	}
	if _, moved := d.firstStock[3]; moved || len(d.firstStock) != 2 {
		t.Errorf("first stocks %v: locate 3 was announced for FFF twice, it did not move", d.firstStock)
	}
}

// TestDecoderMovedOrdersForgottenWhenFilled: an order noted on a moved
// locate is forgotten once it has no shares left, whether D or U removes
// it or E C X take its last shares (ITCH sends no D after a full
// execution); until then its messages still name its stock. A rejected C
// takes no shares, as the book keeps them. One with no shares is not
// noted: the books refuse it, and no execution would take it off.
func TestDecoderMovedOrdersForgottenWhenFilled(t *testing.T) {
	d, syms := newTestDecoder(t, time.Time{})
	bbb := func() tick.SymbolID { id, _ := syms.LookupString("BBB"); return id }
	r := func(s string) []byte {
		return AppendStockDirectory(nil, StockDirectory{Header: hd(1, 1), Stock: MakeStock(s)})
	}
	addN := func(ref uint64, n uint32) []byte {
		return AppendAddOrder(nil, AddOrder{hd(1, 1), ref, 'S', n, MakeStock("BBB"), px4(1)})
	}
	add := func(ref uint64) []byte { return addN(ref, 100) }
	exec := func(ref uint64, n uint32) []byte {
		return AppendOrderExecuted(nil, OrderExecuted{hd(1, 1), ref, n, 1})
	}
	execPx := func(ref uint64, n uint32, printable byte) []byte {
		return AppendOrderExecutedPrice(nil, OrderExecutedPrice{OrderExecuted{hd(1, 1), ref, n, 1}, printable, px4(1)})
	}
	cancel := func(ref uint64, n uint32) []byte { return AppendOrderCancel(nil, OrderCancel{hd(1, 1), ref, n}) }
	replace := func(ref, nref uint64, n uint32) []byte {
		return AppendOrderReplace(nil, OrderReplace{hd(1, 1), ref, nref, n, px4(2)})
	}
	steps := []struct {
		msg    []byte
		reject bool
		noted  int // orders noted after the message
	}{
		{r("AAA"), false, 0}, {r("BBB"), false, 0},
		{add(1), false, 1}, {add(2), false, 2}, {add(3), false, 3}, {add(4), false, 4}, {add(5), false, 5}, {add(6), false, 6},
		{exec(1, 100), false, 5},                                       // E in full
		{execPx(2, 60, 'Y'), false, 5}, {execPx(2, 40, 'N'), false, 4}, // C in two
		{cancel(3, 100), false, 3}, // X in full
		{exec(4, 30), false, 3}, {execPx(4, 70, '?'), true, 3}, {cancel(4, 69), false, 3}, {exec(4, 1), false, 2},
		{exec(5, 150), false, 1},                                                       // more than it has
		{replace(6, 7, 50), false, 1}, {exec(7, 49), false, 1}, {exec(7, 1), false, 0}, // the new order's shares
		{addN(8, 0), false, 0}, {add(9), false, 1}, {replace(9, 10, 0), false, 0}, // no shares: no book takes it, nothing will take it off
	}
	for i, s := range steps {
		var ev tick.Event
		ok, err := d.Decode(s.msg, &ev)
		switch {
		case s.reject && (ok || err == nil):
			t.Fatalf("step %d (%c): %v %v, want rejected", i, s.msg[0], ok, err)
		case !s.reject && (!ok || err != nil || ev.Symbol != bbb()):
			t.Fatalf("step %d (%c): %v %v, symbol %q; want BBB", i, s.msg[0], ok, err, syms.Name(ev.Symbol))
		}
		if n := len(d.movedOrders); n != s.noted {
			t.Fatalf("step %d (%c): %d orders noted, want %d", i, s.msg[0], n, s.noted)
		}
	}
}

// TestDecoderExplainsStockMismatch: Explain turns a stock mismatch into an
// error naming the message's type and locate, the stock it names and the
// one the locate was announced for (a report must say which, not only
// that some stock disagreed); other errors pass as they are.
func TestDecoderExplainsStockMismatch(t *testing.T) {
	r := func(loc uint16, s string) []byte {
		return AppendStockDirectory(nil, StockDirectory{Header: hd(loc, 1), Stock: MakeStock(s)})
	}
	add := func(loc uint16, s string) []byte {
		return AppendAddOrder(nil, AddOrder{hd(loc, 1), 1, 'B', 1, MakeStock(s), px4(1)})
	}
	cases := []struct {
		msgs [][]byte // all but the last decode
		want StockMismatchError
	}{
		{[][]byte{r(7, "AAPL"), add(7, "MSFT")}, StockMismatchError{'A', 7, "MSFT", "AAPL"}},
		{[][]byte{r(1, "A"), AppendAddOrderMPID(nil, AddOrderMPID{AddOrder{hd(1, 1), 1, 'B', 1, MakeStock("AB"), px4(1)}, [4]byte{'M', 'P', 'I', 'D'}})}, StockMismatchError{'F', 1, "AB", "A"}},
		{[][]byte{r(2, "SPY"), AppendTrade(nil, Trade{hd(2, 1), 0, 'B', 1, MakeStock("QQQ"), 1, 1})}, StockMismatchError{'P', 2, "QQQ", "SPY"}},
		{[][]byte{r(3, "IBM"), AppendCrossTrade(nil, CrossTrade{hd(3, 1), 1, MakeStock("GE"), 1, 1, 'O'})}, StockMismatchError{'Q', 3, "GE", "IBM"}},
		{[][]byte{r(4, "ZVZZT"), AppendStockTradingAction(nil, StockTradingAction{Header: hd(4, 1), Stock: MakeStock("ZXZZT"), TradingState: 'T'})}, StockMismatchError{'H', 4, "ZXZZT", "ZVZZT"}},
		// A locate announced by its first add, then moved by an R: the stock it has now.
		{[][]byte{add(5, "OLD"), r(5, "NEW"), add(5, "OLD")}, StockMismatchError{'A', 5, "OLD", "NEW"}},
	}
	for _, c := range cases {
		d, _ := newTestDecoder(t, time.Time{})
		var ev tick.Event
		for _, m := range c.msgs[:len(c.msgs)-1] {
			if ok, err := d.Decode(m, &ev); !ok || err != nil {
				t.Fatalf("%+v: setup: %v %v", c.want, ok, err)
			}
		}
		last := c.msgs[len(c.msgs)-1]
		_, err := d.Decode(last, &ev)
		err = d.Explain(last, err)
		var sm *StockMismatchError
		if !errors.As(err, &sm) || *sm != c.want || !errors.Is(err, ReasonStockMismatch) {
			t.Errorf("Explain = %v, want %+v", err, c.want)
			continue
		}
		for _, s := range []string{fmt.Sprintf("locate %d", c.want.Locate), strconv.Quote(c.want.Stock), strconv.Quote(c.want.Announced)} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%q does not name %s", err, s)
			}
		}
	}
}

// TestDecoderExplainsRejections: Explain turns every other Reason into an
// error naming the message's type, its locate (when its type is known) and
// the field at fault as the message held it, so that a report can be acted
// on without decoding the message by hand.
func TestDecoderExplainsRejections(t *testing.T) {
	r := func(loc uint16, s string) []byte {
		return AppendStockDirectory(nil, StockDirectory{Header: hd(loc, 1), Stock: MakeStock(s)})
	}
	add := func(loc uint16, side byte, s string) []byte {
		return AppendAddOrder(nil, AddOrder{hd(loc, 1), 1, side, 1, MakeStock(s), px4(1)})
	}
	cases := []struct {
		msgs [][]byte // all but the last decode
		full bool
		want MessageError
		text string
	}{
		{[][]byte{AppendOrderDelete(nil, OrderDelete{hd(9, 1), 1})}, false, MessageError{ReasonUnknownLocate, 'D', 19, 9, ""},
			`itch: stock locate not announced by a stock directory message: 'D' message on locate 9`},
		{[][]byte{r(7, "AAPL"), add(7, 'Z', "AAPL")}, false, MessageError{ReasonBadSide, 'A', 36, 7, "Z"},
			`itch: buy/sell indicator not B or S: 'A' message on locate 7 holds "Z"`},
		{[][]byte{r(7, "AAPL"), AppendTrade(nil, Trade{hd(7, 1), 0, 0, 1, MakeStock("AAPL"), 1, 1})}, false, MessageError{ReasonBadSide, 'P', 44, 7, "\x00"},
			`itch: buy/sell indicator not B or S: 'P' message on locate 7 holds "\x00"`},
		{[][]byte{r(7, "AAPL"), AppendOrderExecutedPrice(nil, OrderExecutedPrice{OrderExecuted{hd(7, 1), 1, 1, 1}, 'y', 1})}, false, MessageError{ReasonBadPrintable, 'C', 36, 7, "y"},
			`itch: printable flag not Y or N: 'C' message on locate 7 holds "y"`},
		{[][]byte{add(3, 'B', "A\x01")}, false, MessageError{ReasonBadSymbol, 'A', 36, 3, "A\x01"},
			`itch: invalid stock symbol: 'A' message on locate 3 holds "A\x01"`},
		{[][]byte{r(1, "ONLY"), r(2, "TWO")}, true, MessageError{ReasonSymbolTableFull, 'R', 39, 2, "TWO"},
			`itch: symbol table full: 'R' message on locate 2 holds "TWO"`},
		{[][]byte{add(7, 'B', "AAPL")[:20]}, false, MessageError{ReasonBadLength, 'A', 20, 7, ""},
			`itch: wrong length for message type: 'A' message of 20 bytes (not 36) on locate 7`},
		{[][]byte{{'A', 0}}, false, MessageError{ReasonBadLength, 'A', 2, 0, ""},
			`itch: wrong length for message type: 'A' message of 2 bytes (not 36)`},
		{[][]byte{{'z', 0, 5, 0}}, false, MessageError{ReasonUnknownType, 'z', 4, 5, ""},
			`itch: unknown message type: 'z' message of 4 bytes`},
	}
	for _, c := range cases {
		d := decoderBefore(t, c.full, c.msgs, c.text)
		var ev tick.Event
		last := c.msgs[len(c.msgs)-1]
		_, err := d.Decode(last, &ev)
		if err == nil { // an unknown type is skipped, not an error, but a live session reports it
			err = ReasonUnknownType
		}
		err = d.Explain(last, err)
		var me *MessageError
		if !errors.As(err, &me) || *me != c.want || !errors.Is(err, c.want.Reason) || err.Error() != c.text {
			t.Errorf("Explain = %#v\n%v\nwant %+v\n%s", err, err, c.want, c.text)
		}
	}
	// What is not a Reason, and an empty message, have nothing to add.
	d, _ := newTestDecoder(t, time.Time{})
	other := errors.New("other")
	if err := d.Explain([]byte{'A'}, other); err != other {
		t.Errorf("Explain(other) = %v", err)
	}
	if err := d.Explain(nil, ReasonEmpty); err != ReasonEmpty {
		t.Errorf("Explain(empty) = %v", err)
	}
}

// TestDecoderAcceptsEdgeValues: the edges of what is valid are accepted,
// not only what is past them rejected: a cross of exactly tick.MaxQty
// shares, and a stock of the first and last printable ASCII bytes inside
// (a space, '~'), as tick.ValidSymbol takes them.
func TestDecoderAcceptsEdgeValues(t *testing.T) {
	d, syms := newTestDecoder(t, time.Time{})
	var ev tick.Event
	for i, stock := range []string{"A B", "A~", "!"} {
		loc := uint16(i + 1)
		if ok, err := d.Decode(AppendStockDirectory(nil, StockDirectory{Header: hd(loc, 1), Stock: MakeStock(stock)}), &ev); !ok || err != nil {
			t.Errorf("R %q: %v %v, want accepted", stock, ok, err)
		} else if syms.Name(ev.Symbol) != stock {
			t.Errorf("R %q: symbol %q", stock, syms.Name(ev.Symbol))
		}
	}
	cross := AppendCrossTrade(nil, CrossTrade{hd(1, 1), tick.MaxQty, MakeStock("A B"), 1, 1, 'O'})
	if ok, err := d.Decode(cross, &ev); !ok || err != nil || ev.Qty != tick.MaxQty {
		t.Errorf("cross of MaxQty shares: %v %v, qty %d; want accepted", ok, err, ev.Qty)
	}
}
