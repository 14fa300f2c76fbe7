package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/feed/itch"
)

// refOrder is a resting order of the reference reading: its stock, side,
// price in ITCH's 1e-4 units and shares.
type refOrder struct {
	stock  string
	buy    bool
	price  uint32
	shares uint32
}

// refStock is a stock's executions in the reference reading.
type refStock struct {
	exec     int64
	notional big.Int // Σ price × shares, in 1e-4 units
}

// refInspect reads an ITCH daily file's raw bytes with nothing of tickd's
// decoder or books, straight from ITCH50.md: one map of orders by
// reference, a stock's levels summed from it when asked. It is the
// reference `tickd inspect -json` must agree with.
type refInspect struct {
	locs     map[uint16]string
	orders   map[uint64]*refOrder
	stocks   map[string]*refStock
	unknown  uint64
	rejected map[string]uint64 // by the books
	decoded  map[string]uint64 // rejected by the decoder
	overfill uint64
	// The stocks' levels, kept as orders come and go, and the BBOs a
	// change of a stock's best bid or offer publishes, by stock: "ts_event
	// bid size orders ask size orders".
	levels map[refSide]map[uint32]*refLevel
	bbos   map[string][]string
}

// refSide is one side of a stock's book.
type refSide struct {
	stock string
	buy   bool
}

// refLevel is a price level: its shares and orders.
type refLevel struct{ shares, orders int64 }

func readReference(t *testing.T, file []byte) *refInspect {
	t.Helper()
	r := &refInspect{locs: map[uint16]string{}, orders: map[uint64]*refOrder{}, stocks: map[string]*refStock{}, rejected: map[string]uint64{}, decoded: map[string]uint64{},
		levels: map[refSide]map[uint32]*refLevel{}, bbos: map[string][]string{}}
	for len(file) >= 2 {
		n := int(binary.BigEndian.Uint16(file))
		if n == 0 {
			break
		}
		if len(file) < 2+n {
			t.Fatalf("reference: file ends inside a message")
		}
		r.message(file[2 : 2+n])
		file = file[2+n:]
	}
	return r
}

func stockName(b []byte) string { return strings.TrimRight(string(b), " ") }

// stock returns the stock of locate loc, which a message carrying its own
// stock field (named, or "" if it has none) announces when no R did;
// locate 0 is "no stock" and is never announced. A stock field naming
// another stock than its locate's is rejected.
func (r *refInspect) stock(loc uint16, named string) (string, bool) {
	if s, ok := r.locs[loc]; ok {
		if named != "" && named != s {
			r.decoded["stock_mismatch"]++
			return "", false
		}
		return s, true
	}
	if named == "" {
		return "", false
	}
	if loc != 0 {
		r.locs[loc] = named
	}
	r.known(named)
	return named, true
}

func (r *refInspect) known(s string) *refStock {
	if r.stocks[s] == nil {
		r.stocks[s] = &refStock{}
	}
	return r.stocks[s]
}

func (r *refInspect) print(stock string, price uint32, shares int64) {
	s := r.known(stock)
	s.exec += shares
	var n big.Int
	s.notional.Add(&s.notional, n.Mul(big.NewInt(int64(price)), big.NewInt(shares)))
}

// take removes up to q shares from the order ref and returns how many it had
// to give.
func (r *refInspect) take(ref uint64, q uint32) uint32 {
	o := r.orders[ref]
	if q == 0 {
		r.rejected["bad_order"]++
		return 0
	}
	if q > o.shares {
		r.overfill++
		q = o.shares
	}
	r.level(o, -int64(q), 0)
	if o.shares -= q; o.shares == 0 {
		r.remove(ref)
	}
	return q
}

// level adds shares and orders to o's level, dropping it when empty.
func (r *refInspect) level(o *refOrder, shares, orders int64) {
	side := refSide{o.stock, o.buy}
	if r.levels[side] == nil {
		r.levels[side] = map[uint32]*refLevel{}
	}
	l := r.levels[side][o.price]
	if l == nil {
		l = &refLevel{}
		r.levels[side][o.price] = l
	}
	l.shares += shares
	if l.orders += orders; l.orders == 0 {
		delete(r.levels[side], o.price)
	}
}

func (r *refInspect) enter(ref uint64, o *refOrder) {
	r.orders[ref] = o
	r.level(o, int64(o.shares), 1)
}

func (r *refInspect) remove(ref uint64) {
	o := r.orders[ref]
	r.level(o, -int64(o.shares), -1)
	delete(r.orders, ref)
}

// best returns the best level of a side: its price, shares and orders;
// ok is false when the side is empty.
func (r *refInspect) best(stock string, buy bool) (price uint32, l refLevel, ok bool) {
	for p, lv := range r.levels[refSide{stock, buy}] {
		if !ok || (buy && p > price) || (!buy && p < price) {
			price, l, ok = p, *lv, true
		}
	}
	return price, l, ok
}

// touch renders a stock's best bid and offer as a BBO does.
func (r *refInspect) touch(stock string) string {
	side := func(buy bool) string {
		p, l, ok := r.best(stock, buy)
		if !ok {
			return "null 0 0"
		}
		return fmt.Sprintf("%s %d %d", refDecimal(big.NewInt(int64(p)), big.NewInt(1e4)), l.shares, l.orders)
	}
	return side(true) + " " + side(false)
}

// noteBBO records a BBO of stock at ts if its touch differs from the last.
func (r *refInspect) noteBBO(stock string, ts uint64, before string) {
	if now := r.touch(stock); now != before {
		r.bbos[stock] = append(r.bbos[stock], fmt.Sprintf("%d %s", ts, now))
	}
}

// message applies one message, and records the BBO it publishes, if any.
func (r *refInspect) message(m []byte) {
	stock, touched := r.orderStock(m)
	before := r.touch(stock)
	r.apply(m)
	if touched {
		ts := uint64(binary.BigEndian.Uint16(m[5:]))<<32 | uint64(binary.BigEndian.Uint32(m[7:]))
		r.noteBBO(stock, ts, before)
	}
}

// orderStock returns the stock whose book message m may change.
func (r *refInspect) orderStock(m []byte) (string, bool) {
	switch m[0] {
	case 'A', 'F':
		named := stockName(m[24:32])
		if s, ok := r.locs[binary.BigEndian.Uint16(m[1:])]; ok && s != named {
			return "", false // rejected
		}
		return named, true
	case 'E', 'C', 'X', 'D', 'U':
		if o := r.orders[binary.BigEndian.Uint64(m[11:])]; o != nil {
			return o.stock, true
		}
	}
	return "", false
}

func (r *refInspect) apply(m []byte) {
	be := binary.BigEndian
	loc := be.Uint16(m[1:])
	body := m[11:]
	switch m[0] {
	case 'R':
		s := stockName(body[:8])
		if loc != 0 {
			r.locs[loc] = s
		}
		r.known(s)
	case 'H':
		r.stock(loc, stockName(body[:8]))
	case 'Q':
		r.stock(loc, stockName(body[8:16]))
	case 'P':
		if s, ok := r.stock(loc, stockName(body[13:21])); ok {
			r.print(s, be.Uint32(body[21:]), int64(be.Uint32(body[9:])))
		}
	case 'A', 'F':
		s, ok := r.stock(loc, stockName(body[13:21]))
		ref, shares, price := be.Uint64(body), be.Uint32(body[9:]), be.Uint32(body[21:])
		switch {
		case !ok:
		case shares == 0 || price == 0:
			r.rejected["bad_order"]++
		case r.orders[ref] != nil:
			r.rejected["duplicate_ref"]++
		default:
			r.enter(ref, &refOrder{stock: s, buy: body[8] == 'B', price: price, shares: shares})
		}
	case 'E', 'C', 'X', 'D', 'U':
		ref := be.Uint64(body)
		if _, ok := r.stock(loc, ""); !ok {
			return
		}
		o := r.orders[ref]
		if o == nil {
			r.unknown++
			return
		}
		switch m[0] {
		case 'E':
			r.print(o.stock, o.price, int64(r.take(ref, be.Uint32(body[8:]))))
		case 'C':
			q := r.take(ref, be.Uint32(body[8:]))
			if body[20] == 'Y' {
				r.print(o.stock, be.Uint32(body[21:]), int64(q))
			}
		case 'X':
			r.take(ref, be.Uint32(body[8:]))
		case 'D':
			r.remove(ref)
		case 'U':
			r.remove(ref)
			newRef, shares, price := be.Uint64(body[8:]), be.Uint32(body[16:]), be.Uint32(body[20:])
			switch {
			case shares == 0 || price == 0:
				r.rejected["bad_order"]++
			case r.orders[newRef] != nil:
				r.rejected["duplicate_ref"]++
			default:
				r.enter(newRef, &refOrder{stock: o.stock, buy: o.buy, price: price, shares: shares})
			}
		}
	}
}

// refDecimal writes num/den as a decimal of at most 9 fractional digits,
// rounded half up, trailing zeros cut.
func refDecimal(num, den *big.Int) string {
	var q big.Int
	q.Mul(num, big.NewInt(2e9)).Add(&q, den).Quo(&q, new(big.Int).Mul(den, big.NewInt(2)))
	s := new(big.Rat).SetFrac(&q, big.NewInt(1e9)).FloatString(9)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// summary is what -json's "symbols" should hold, as JSON.
func (r *refInspect) summary() map[string]any {
	out := map[string]any{}
	for name, st := range r.stocks {
		var bid, ask *uint32
		levels := map[bool]map[uint32]int64{true: {}, false: {}}
		s := map[string]any{"bid_orders": 0, "ask_orders": 0, "bid_shares": int64(0), "ask_shares": int64(0), "exec_shares": st.exec, "vwap": ""}
		for _, o := range r.orders {
			if o.stock != name {
				continue
			}
			levels[o.buy][o.price] += int64(o.shares)
			side := "ask"
			if o.buy {
				side = "bid"
				if bid == nil || o.price > *bid {
					bid = &o.price
				}
			} else if ask == nil || o.price < *ask {
				ask = &o.price
			}
			s[side+"_orders"] = s[side+"_orders"].(int) + 1
			s[side+"_shares"] = s[side+"_shares"].(int64) + int64(o.shares)
		}
		s["best_bid"], s["best_ask"] = nil, nil
		if bid != nil {
			s["best_bid"] = []any{refDecimal(big.NewInt(int64(*bid)), big.NewInt(1e4)), levels[true][*bid]}
		}
		if ask != nil {
			s["best_ask"] = []any{refDecimal(big.NewInt(int64(*ask)), big.NewInt(1e4)), levels[false][*ask]}
		}
		if bid != nil && ask != nil && *bid >= *ask {
			s["state"] = map[bool]string{true: "crossed", false: "locked"}[*bid > *ask]
		}
		if st.exec > 0 {
			s["vwap"] = refDecimal(&st.notional, big.NewInt(st.exec*1e4))
		}
		out[name] = s
	}
	return out
}

// canonical re-encodes v through JSON, so that two values compare as their
// JSON does.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(x)
	return string(b)
}

// TestInspectMatchesReference: `tickd inspect -json` agrees, symbol by
// symbol and field by field, with the reference reading of the same bytes,
// on the real BX sample (a day joined mid-way: unknown references, crossed
// books), on generated ITCH sessions of several seeds and sizes, and on a
// scripted file of what a feed should not send.
func TestInspectMatchesReference(t *testing.T) {
	files := map[string][]byte{}
	sample := filepath.Join("..", "..", "..", "shared", "data", "bx-itch50-sample.itch")
	b, err := os.ReadFile(sample)
	if err != nil {
		t.Fatalf("the real sample (../shared/data from the project workspace): %v", err)
	}
	files["sample"] = b
	for _, args := range [][]string{
		{"-count", "60000", "-seed", "1", "-symbols", "8", "-live-orders", "800"},
		{"-count", "60000", "-seed", "2", "-symbols", "40", "-live-orders", "20000"},
		{"-count", "60000", "-seed", "3", "-symbols", "3", "-live-orders", "30"},
	} {
		var file []byte
		for _, m := range itchFile(t, args...) {
			file = itch.AppendFramed(file, m)
		}
		files["gen "+strings.Join(args, " ")] = file
	}
	files["adversarial"] = adversarialITCH()
	for name, file := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "day.itch")
			if err := os.WriteFile(path, file, 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if err := runInspect(context.Background(), []string{"-json", path}, &out, &errb); err != nil {
				t.Fatalf("%v %s", err, errb.String())
			}
			var got map[string]any
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			ref := readReference(t, file)
			want := ref.summary()
			for sym := range want {
				if g, w := canonical(t, got["symbols"].(map[string]any)[sym]), canonical(t, want[sym]); g != w {
					t.Errorf("%s:\n got %s\nwant %s", sym, g, w)
				}
			}
			if g, w := len(got["symbols"].(map[string]any)), len(want); g != w {
				t.Errorf("%d symbols, want %d", g, w)
			}
			for field, w := range map[string]any{"unknown_refs": ref.unknown, "book_rejected": ref.rejected, "overfills": ref.overfill, "rejected": ref.decoded} {
				if g, w := canonical(t, got[field]), canonical(t, w); g != w {
					t.Errorf("%s %s, want %s", field, g, w)
				}
			}
		})
	}
}

// adversarialITCH is a session of what a feed should not send, well formed:
// over-executions and over-cancels, references unknown, deleted or live
// again, replaces onto a live reference and to the same price and shares,
// orders of no shares or price, trades, a zero-share cross, a broken
// trade, a locate announced again for another stock, an add naming
// another stock than its locate's, orders on locate 0,
// a halt, and a book left locked.
func adversarialITCH() []byte {
	h := func(loc uint16) itch.Header { return itch.Header{Locate: loc, Timestamp: 34200e9} }
	add := func(loc uint16, ref uint64, side byte, shares uint32, stock, price string) []byte {
		return itch.AppendAddOrder(nil, itch.AddOrder{Header: h(loc), OrderRef: ref, Side: side, Shares: shares, Stock: itch.MakeStock(stock), Price: px(price)})
	}
	dir := func(loc uint16, stock string) []byte {
		return itch.AppendStockDirectory(nil, itch.StockDirectory{Header: h(loc), Stock: itch.MakeStock(stock), RoundLotSize: 100})
	}
	exec := func(ref uint64, shares uint32) []byte {
		return itch.AppendOrderExecuted(nil, itch.OrderExecuted{Header: h(1), OrderRef: ref, Shares: shares, Match: ref})
	}
	var file []byte
	for _, m := range [][]byte{
		dir(1, "AAA"), dir(2, "BBB"),
		add(1, 1, 'B', 100, "AAA", "100"), add(1, 2, 'S', 100, "AAA", "101"),
		exec(1, 150), exec(1, 10), // overfill, then a deleted reference
		add(1, 2, 'S', 50, "AAA", "102"), add(1, 3, 'B', 0, "AAA", "99"), add(1, 4, 'B', 10, "AAA", "0"),
		add(1, 5, 'B', 100, "AAA", "99"),
		itch.AppendOrderReplace(nil, itch.OrderReplace{Header: h(1), OrigRef: 5, NewRef: 2, Shares: 100, Price: px("99.5")}),
		add(1, 6, 'B', 100, "AAA", "99"), add(1, 7, 'B', 100, "AAA", "99"),
		itch.AppendOrderReplace(nil, itch.OrderReplace{Header: h(1), OrigRef: 6, NewRef: 8, Shares: 100, Price: px("99")}),
		itch.AppendOrderReplace(nil, itch.OrderReplace{Header: h(1), OrigRef: 8, NewRef: 9, Shares: 0, Price: px("99")}),
		itch.AppendOrderCancel(nil, itch.OrderCancel{Header: h(1), OrderRef: 7, Shares: 500}),
		itch.AppendOrderExecutedPrice(nil, itch.OrderExecutedPrice{OrderExecuted: itch.OrderExecuted{Header: h(1), OrderRef: 2, Shares: 10, Match: 20}, Printable: 'Y', Price: px("101.5")}),
		itch.AppendOrderExecutedPrice(nil, itch.OrderExecutedPrice{OrderExecuted: itch.OrderExecuted{Header: h(1), OrderRef: 2, Shares: 10, Match: 21}, Printable: 'N', Price: px("101.5")}),
		itch.AppendOrderDelete(nil, itch.OrderDelete{Header: h(1), OrderRef: 77}),
		itch.AppendTrade(nil, itch.Trade{Header: h(1), Side: 'B', Shares: 100, Stock: itch.MakeStock("AAA"), Price: px("100.5"), Match: 30}),
		itch.AppendCrossTrade(nil, itch.CrossTrade{Header: h(1), Shares: 0, Stock: itch.MakeStock("AAA"), Price: px("100.5"), Match: 31, CrossType: 'O'}),
		itch.AppendBrokenTrade(nil, itch.BrokenTrade{Header: h(1), Match: 30}),
		dir(1, "CCC"), add(1, 10, 'B', 100, "AAA", "50"), exec(2, 5), // locate 1 is CCC now: order 10 names AAA; order 2 stays AAA's
		add(1, 15, 'B', 100, "CCC", "50"),
		add(0, 11, 'B', 100, "DDD", "5"), add(0, 12, 'S', 100, "EEE", "6"),
		itch.AppendStockTradingAction(nil, itch.StockTradingAction{Header: h(2), Stock: itch.MakeStock("BBB"), TradingState: 'H'}),
		add(2, 13, 'S', 100, "BBB", "200"),
		itch.AppendStockTradingAction(nil, itch.StockTradingAction{Header: h(2), Stock: itch.MakeStock("BBB"), TradingState: 'T'}),
		add(2, 14, 'B', 100, "BBB", "200"),
	} {
		file = itch.AppendFramed(file, m)
	}
	return file
}

// TestReplayBBOsMatchReference: `tickd replay FILE -speed max` publishes on
// tickd.bbo.<SYMBOL>, to a real NATS subscriber, exactly the BBOs of the
// reference reading: one for each message that changes a stock's best bid
// or offer (price, shares or orders), none for a change deeper in the
// book, with the message's time, on the real sample, a generated session
// and the file of what a feed should not send.
func TestReplayBBOsMatchReference(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "bx-itch50-sample.itch"))
	if err != nil {
		t.Fatalf("the real sample (../shared/data from the project workspace): %v", err)
	}
	var gen []byte
	for _, m := range itchFile(t, "-count", "30000", "-seed", "4", "-symbols", "6", "-live-orders", "600") {
		gen = itch.AppendFramed(gen, m)
	}
	// The adversarial file on 3 shards too: it moves locate 1 from AAA to
	// CCC (shards 0 and 2), then executes AAA's order on it.
	for name, c := range map[string]struct {
		file   []byte
		shards string
	}{"sample": {sample, "1"}, "gen": {gen, "1"}, "adversarial": {adversarialITCH(), "1"}, "adversarial 3 shards": {adversarialITCH(), "3"}} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "day.itch")
			if err := os.WriteFile(path, c.file, 0o600); err != nil {
				t.Fatal(err)
			}
			r := startReplay(t, path, "-speed", "max", "-bbo-interval", "0", "-shards", c.shards)
			r.control("resume")
			r.finish(r.summary())
			got := map[string][]string{}
			r.col.mu.Lock()
			for key, msgs := range r.col.by {
				kind, sym, _ := strings.Cut(key, " ")
				if kind != "bbo" {
					continue
				}
				sym = strings.TrimSuffix(sym, " <nil>")
				for _, m := range msgs {
					got[sym] = append(got[sym], bboLine(t, m))
				}
			}
			r.col.mu.Unlock()
			want := readReference(t, c.file).bbos
			for sym := range want {
				if g, w := got[sym], want[sym]; !slices.Equal(g, w) {
					i := 0
					for i < min(len(g), len(w)) && g[i] == w[i] {
						i++
					}
					t.Errorf("%s: %d BBOs, want %d; first difference at %d:\n got %q\nwant %q", sym, len(g), len(w), i, g[i:min(i+3, len(g))], w[i:min(i+3, len(w))])
				}
			}
			for sym := range got {
				if want[sym] == nil {
					t.Errorf("%s: %d BBOs, the reference has none", sym, len(got[sym]))
				}
			}
		})
	}
}

// bboLine renders a collected BBO as the reference does.
func bboLine(t *testing.T, msg string) string {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(msg))
	dec.UseNumber() // times are past 2^53
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	side := func(p, size, orders any) string {
		if p == nil {
			p = "null"
		}
		return fmt.Sprintf("%v %v %v", p, size, orders)
	}
	return fmt.Sprintf("%v %s %s", m["ts_event"], side(m["bid"], m["bid_size"], m["bid_orders"]), side(m["ask"], m["ask_size"], m["ask_orders"]))
}

// TestReplaySaysWhatTheBooksRejected: the L3 events a replay plays but the
// books cannot apply as sent (references never added or already gone,
// references live again, orders of no shares or price, executions and
// cancels past an order's shares) are in its summary by reason, as they
// are in inspect's: not only in the metrics of a run that serves them.
func TestReplaySaysWhatTheBooksRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd.itch")
	if err := os.WriteFile(path, adversarialITCH(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The same with the books on 3 shards: the file moves locate 1 from
	// AAA to CCC (shards 0 and 2) and then executes AAA's order on it.
	for _, shards := range []string{"1", "3"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var stdout syncBuffer
		if err := runReplay(ctx, []string{path, "-speed", "max", "-nats-listen", "off", "-shards", shards}, &stdout, io.Discard); err != nil {
			t.Fatal(err)
		}
		want := "tickd replay: not applied as sent to the books: unknown_execute=1 unknown_delete=1 duplicate_ref=2 bad_order=3 overfill=2 ("
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("-shards %s: summary lacks %q:\n%s", shards, want, stdout.String())
		}
	}
}
