package bus

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/tick"
)

// fixture is a symbol table and rule set shared by the encoding tests.
type fixture struct {
	syms             *tick.SymbolTable
	aapl, brk, quote tick.SymbolID
	rules            []RuleInfo
	enc              *Encoder
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{syms: tick.NewSymbolTable(64)}
	f.aapl, _ = f.syms.Intern("AAPL")
	f.brk, _ = f.syms.Intern("BRK.A")
	f.quote, _ = f.syms.Intern(`Q"T\S`)
	f.rules = []RuleInfo{
		{ID: "brk_up", Type: "threshold", Params: []Param{{"level", "412"}, {"hysteresis", "0.05"}},
			ValueNames: [3]string{"last", "level"}},
		{ID: "z.spike", Type: "zscore", Params: []Param{{"z", "3"}},
			ValueNames: [3]string{"zscore", "", "stddev"}},
		{ID: "bare", Type: "cross"},
	}
	var err error
	if f.enc, err = NewEncoder("h-1", f.syms, f.rules); err != nil {
		tb.Fatal(err)
	}
	return f
}

func (f *fixture) signal() tick.Signal {
	return tick.Signal{TsEvent: 1700000000000000000, TsRecv: 1700000000000001000, Symbol: f.brk,
		Rule: 0, Dir: 1, Price: 412_500_000_000, Values: [3]float64{412.5, 412, 99}}
}

func (f *fixture) bar() tick.Bar {
	return tick.Bar{Symbol: f.aapl, Count: 7, Interval: int64(time.Second), Start: 1700000000000000000,
		Open: 189_500_000_000, High: 190_000_000_000, Low: 189_250_000_000, Close: 189_750_000_000,
		VWAP: 189_600_000_001, Volume: 1200, TsRecv: 1700000000999000000}
}

func (f *fixture) stats() tick.Stats {
	return tick.Stats{Symbol: f.aapl, TsEvent: 1700000000999000000, Last: 189_750_000_000,
		SMA: 189.61, EMA: 189.7, VWAP: 189.6, Mean: math.NaN(), StdDev: 0.21, ZScore: math.Inf(1),
		Min: 188_000_000_000, Max: 191_100_000_000, Count: 5400, Volume: 812000}
}

// bbo has both sides; the golden tests empty one side or both.
func (f *fixture) bbo() tick.BBO {
	return tick.BBO{Symbol: f.brk, BidOrders: 2, AskOrders: 3, TsEvent: 1700000000000000000,
		TsRecv: 1700000000000001000, Bid: 412_500_000_000, BidShares: 300, Ask: 412_510_000_001, AskShares: 1200}
}

func TestEncodeGolden(t *testing.T) {
	f := newFixture(t)
	sig, bar, st, bbo := f.signal(), f.bar(), f.stats(), f.bbo()
	askEmpty := bbo
	askEmpty.Ask, askEmpty.AskShares, askEmpty.AskOrders = 0, 0, 0
	// A stale price on an empty side is not shown; a zero price on a
	// non-empty side is.
	bothEmpty := tick.BBO{Symbol: f.quote, TsEvent: 5, TsRecv: 6, Bid: 7}
	zeroBid := tick.BBO{Symbol: f.aapl, TsEvent: 5, TsRecv: 6, BidShares: 1, BidOrders: 1, Ask: -1, AskOrders: 1}
	for _, c := range []struct{ got, want string }{
		{string(f.enc.AppendSignalJSON(nil, 7, 1700000000000002000, &sig)),
			`{"kind":"signal","publisher":"h-1","seq":7,"symbol":"BRK.A","rule":"brk_up","type":"threshold",` +
				`"dir":"up","ts_event":1700000000000000000,"ts_recv":1700000000000001000,"ts_pub":1700000000000002000,` +
				`"price":"412.5","params":{"level":"412","hysteresis":"0.05"},"values":{"last":412.5,"level":412}}`},
		{string(f.enc.AppendBarJSON(nil, 8, 1700000001000000000, &bar)),
			`{"kind":"bar","publisher":"h-1","seq":8,"symbol":"AAPL","interval":"1s","interval_ns":1000000000,` +
				`"start":1700000000000000000,"open":"189.5","high":"190","low":"189.25","close":"189.75",` +
				`"volume":1200,"vwap":"189.600000001","count":7,"ts_recv":1700000000999000000,"ts_pub":1700000001000000000}`},
		{string(f.enc.AppendStatsJSON(nil, 9, 1700000001000000000, &st)),
			`{"kind":"stats","publisher":"h-1","seq":9,"symbol":"AAPL","ts_event":1700000000999000000,` +
				`"ts_pub":1700000001000000000,"last":"189.75","sma":189.61,"ema":189.7,"vwap":189.6,"mean":null,` +
				`"stddev":0.21,"zscore":null,"min":"188","max":"191.1","count":5400,"volume":812000}`},
		{string(f.enc.AppendBBOJSON(nil, 10, 1700000000000002000, &bbo)),
			`{"kind":"bbo","publisher":"h-1","seq":10,"symbol":"BRK.A","ts_event":1700000000000000000,` +
				`"ts_recv":1700000000000001000,"ts_pub":1700000000000002000,"bid":"412.5","ask":"412.510000001",` +
				`"bid_size":300,"ask_size":1200,"bid_orders":2,"ask_orders":3}`},
		{string(f.enc.AppendBBOJSON(nil, 11, 1700000000000002000, &askEmpty)),
			`{"kind":"bbo","publisher":"h-1","seq":11,"symbol":"BRK.A","ts_event":1700000000000000000,` +
				`"ts_recv":1700000000000001000,"ts_pub":1700000000000002000,"bid":"412.5","ask":null,` +
				`"bid_size":300,"ask_size":0,"bid_orders":2,"ask_orders":0}`},
		{string(f.enc.AppendBBOJSON(nil, 12, 8, &bothEmpty)),
			`{"kind":"bbo","publisher":"h-1","seq":12,"symbol":"Q\"T\\S","ts_event":5,"ts_recv":6,"ts_pub":8,` +
				`"bid":null,"ask":null,"bid_size":0,"ask_size":0,"bid_orders":0,"ask_orders":0}`},
		{string(f.enc.AppendBBOJSON(nil, 13, 8, &zeroBid)),
			`{"kind":"bbo","publisher":"h-1","seq":13,"symbol":"AAPL","ts_event":5,"ts_recv":6,"ts_pub":8,` +
				`"bid":"0","ask":"-0.000000001","bid_size":1,"ask_size":0,"bid_orders":1,"ask_orders":1}`},
	} {
		if c.got != c.want {
			t.Errorf("got\n%s\nwant\n%s", c.got, c.want)
		}
	}
	// Rule 1: a gap in the value names, a rule id with a dot, a symbol to escape.
	sig.Rule, sig.Dir, sig.Symbol, sig.Price = 1, -1, f.quote, -1
	sig.Values = [3]float64{-3.5, 7, 1e-7}
	got := string(f.enc.AppendSignalJSON(nil, 1, 2, &sig))
	want := `{"kind":"signal","publisher":"h-1","seq":1,"symbol":"Q\"T\\S","rule":"z.spike","type":"zscore",` +
		`"dir":"down","ts_event":1700000000000000000,"ts_recv":1700000000000001000,"ts_pub":2,` +
		`"price":"-0.000000001","params":{"z":"3"},"values":{"zscore":-3.5,"stddev":1e-07}}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	sig.Rule, sig.Dir = 2, 0
	if got := string(f.enc.AppendSignalJSON(nil, 1, 2, &sig)); !strings.Contains(got, `"dir":"none"`) ||
		!strings.HasSuffix(got, `"params":{},"values":{}}`) {
		t.Errorf("bare rule: %s", got)
	}
}

// TestEncodeFieldTypes reads the fast encoder's output with encoding/json
// into a map, checking every field's name and JSON type.
func TestEncodeFieldTypes(t *testing.T) {
	f := newFixture(t)
	sig, bar, st, bbo := f.signal(), f.bar(), f.stats(), f.bbo()
	bidEmpty := bbo
	bidEmpty.Bid, bidEmpty.BidShares, bidEmpty.BidOrders = 0, 0, 0
	const (
		str = "string"
		num = "number"
		obj = "object"
		nul = "null"
	)
	for _, c := range []struct {
		data  []byte
		types map[string]string
	}{
		{f.enc.AppendSignalJSON(nil, 1, 1, &sig), map[string]string{"kind": str, "publisher": str, "seq": num,
			"symbol": str, "rule": str, "type": str, "dir": str, "ts_event": num, "ts_recv": num, "ts_pub": num,
			"price": str, "params": obj, "values": obj}},
		{f.enc.AppendBarJSON(nil, 1, 1, &bar), map[string]string{"kind": str, "publisher": str, "seq": num,
			"symbol": str, "interval": str, "interval_ns": num, "start": num, "open": str, "high": str,
			"low": str, "close": str, "volume": num, "vwap": str, "count": num, "ts_recv": num, "ts_pub": num}},
		{f.enc.AppendStatsJSON(nil, 1, 1, &st), map[string]string{"kind": str, "publisher": str, "seq": num,
			"symbol": str, "ts_event": num, "ts_pub": num, "last": str, "sma": num, "ema": num, "vwap": num,
			"mean": nul, "stddev": num, "zscore": nul, "min": str, "max": str, "count": num, "volume": num}},
		{f.enc.AppendBBOJSON(nil, 1, 1, &bbo), map[string]string{"kind": str, "publisher": str, "seq": num,
			"symbol": str, "ts_event": num, "ts_recv": num, "ts_pub": num, "bid": str, "ask": str,
			"bid_size": num, "ask_size": num, "bid_orders": num, "ask_orders": num}},
		{f.enc.AppendBBOJSON(nil, 1, 1, &bidEmpty), map[string]string{"kind": str, "publisher": str, "seq": num,
			"symbol": str, "ts_event": num, "ts_recv": num, "ts_pub": num, "bid": nul, "ask": str,
			"bid_size": num, "ask_size": num, "bid_orders": num, "ask_orders": num}},
	} {
		var m map[string]any
		if err := json.Unmarshal(c.data, &m); err != nil {
			t.Fatalf("%s: %v", c.data, err)
		}
		got := make(map[string]string, len(m))
		for k, v := range m {
			switch v.(type) {
			case string:
				got[k] = str
			case float64:
				got[k] = num
			case map[string]any:
				got[k] = obj
			case nil:
				got[k] = nul
			default:
				got[k] = reflect.TypeOf(v).String()
			}
		}
		if !reflect.DeepEqual(got, c.types) {
			t.Errorf("%s\nfield types %v\nwant        %v", c.data, got, c.types)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	f := newFixture(t)
	sig, bar, st := f.signal(), f.bar(), f.stats()
	dec := func(b []byte) Message {
		t.Helper()
		m, err := DecodeBytes("subj", b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	d := func(p tick.Price) decimal.Decimal { return decimal.New(int64(p), -9) }

	gs := dec(f.enc.AppendSignalJSON(nil, 7, 33, &sig)).(*Signal)
	want := &Signal{Subject: "subj", Publisher: "h-1", Seq: 7, Symbol: "BRK.A", Rule: "brk_up",
		Type: "threshold", Dir: Up, TsEvent: sig.TsEvent, TsRecv: sig.TsRecv, TsPub: 33,
		Params: map[string]string{"level": "412", "hysteresis": "0.05"},
		Values: map[string]float64{"last": 412.5, "level": 412}}
	if !gs.Price.Equal(d(sig.Price)) {
		t.Errorf("price %s", gs.Price)
	}
	gs.Price = decimal.Decimal{}
	if !reflect.DeepEqual(gs, want) {
		t.Errorf("signal\n%+v\nwant\n%+v", gs, want)
	}
	if !gs.EventTime().Equal(time.Unix(0, sig.TsEvent)) || gs.PubTime().UnixNano() != 33 ||
		gs.RecvTime().UnixNano() != sig.TsRecv {
		t.Error("signal times")
	}

	gb := dec(f.enc.AppendBarJSON(nil, 8, 44, &bar)).(*Bar)
	for _, p := range [][2]any{{gb.Open, bar.Open}, {gb.High, bar.High}, {gb.Low, bar.Low},
		{gb.Close, bar.Close}, {gb.VWAP, bar.VWAP}} {
		if !p[0].(decimal.Decimal).Equal(d(p[1].(tick.Price))) {
			t.Errorf("bar price %s want %s", p[0], p[1])
		}
	}
	if gb.Publisher != "h-1" || gb.Seq != 8 || gb.Symbol != "AAPL" || gb.Interval != time.Second ||
		gb.Start != bar.Start || gb.Volume != 1200 || gb.Count != 7 || gb.TsRecv != bar.TsRecv || gb.TsPub != 44 {
		t.Errorf("bar %+v", gb)
	}
	if gb.EndTime().Sub(gb.StartTime()) != time.Second {
		t.Error("bar times")
	}

	gt := dec(f.enc.AppendStatsJSON(nil, 9, 55, &st)).(*Stats)
	if gt.SMA != st.SMA || gt.EMA != st.EMA || gt.VWAP != st.VWAP || !math.IsNaN(gt.Mean) ||
		gt.StdDev != st.StdDev || !math.IsNaN(gt.ZScore) || gt.Count != st.Count || gt.Volume != st.Volume ||
		gt.TsEvent != st.TsEvent || gt.TsPub != 55 || !gt.Last.Equal(d(st.Last)) ||
		!gt.Min.Equal(d(st.Min)) || !gt.Max.Equal(d(st.Max)) {
		t.Errorf("stats %+v", gt)
	}
	if p, s := gt.Origin(); p != "h-1" || s != 9 || gt.Kind() != KindStats {
		t.Error("stats origin")
	}

	bbo := f.bbo()
	gq := dec(f.enc.AppendBBOJSON(nil, 10, 66, &bbo)).(*BBO)
	if !gq.Bid.Valid || !gq.Bid.Decimal.Equal(d(bbo.Bid)) || !gq.Ask.Valid || !gq.Ask.Decimal.Equal(d(bbo.Ask)) {
		t.Errorf("bbo prices %+v %+v", gq.Bid, gq.Ask)
	}
	gq.Bid, gq.Ask = decimal.NullDecimal{}, decimal.NullDecimal{}
	wantQ := &BBO{Subject: "subj", Publisher: "h-1", Seq: 10, Symbol: "BRK.A", TsEvent: bbo.TsEvent,
		TsRecv: bbo.TsRecv, TsPub: 66, BidSize: 300, AskSize: 1200, BidOrders: 2, AskOrders: 3}
	if !reflect.DeepEqual(gq, wantQ) {
		t.Errorf("bbo\n%+v\nwant\n%+v", gq, wantQ)
	}
	if p, s := gq.Origin(); p != "h-1" || s != 10 || gq.Kind() != KindBBO || gq.EventTime().UnixNano() != bbo.TsEvent ||
		gq.RecvTime().UnixNano() != bbo.TsRecv || gq.PubTime().UnixNano() != 66 {
		t.Error("bbo origin or times")
	}
	// One side empty: null on the wire, an invalid NullDecimal after.
	bbo.Ask, bbo.AskShares, bbo.AskOrders = 999, 0, 0
	gq = dec(f.enc.AppendBBOJSON(nil, 11, 67, &bbo)).(*BBO)
	if !gq.Bid.Valid || !gq.Bid.Decimal.Equal(d(bbo.Bid)) || gq.Ask.Valid || !gq.Ask.Decimal.IsZero() ||
		gq.BidSize != 300 || gq.AskSize != 0 || gq.BidOrders != 2 || gq.AskOrders != 0 {
		t.Errorf("bbo without ask %+v", gq)
	}
	bbo.Bid, bbo.BidShares, bbo.BidOrders = 0, 0, 0
	bbo.Ask, bbo.AskShares, bbo.AskOrders = 5, 10, 1
	gq = dec(f.enc.AppendBBOJSON(nil, 12, 68, &bbo)).(*BBO)
	if gq.Bid.Valid || !gq.Ask.Valid || !gq.Ask.Decimal.Equal(d(5)) || gq.AskSize != 10 || gq.AskOrders != 1 {
		t.Errorf("bbo without bid %+v", gq)
	}
}

func TestEncodeNoAllocs(t *testing.T) {
	f := newFixture(t)
	sig, bar, st, bbo := f.signal(), f.bar(), f.stats(), f.bbo()
	empty := tick.BBO{Symbol: f.quote}
	buf := make([]byte, 0, 1024)
	n := testing.AllocsPerRun(100, func() {
		buf = f.enc.AppendSignalJSON(buf[:0], 1, 1, &sig)
		buf = f.enc.AppendBarJSON(buf[:0], 1, 1, &bar)
		buf = f.enc.AppendStatsJSON(buf[:0], 1, 1, &st)
		buf = f.enc.AppendBBOJSON(buf[:0], 1, 1, &bbo)
		buf = f.enc.AppendBBOJSON(buf[:0], 1, 1, &empty)
	})
	if n != 0 {
		t.Errorf("%v allocs per encode", n)
	}
}

func TestNewEncoderErrors(t *testing.T) {
	syms := tick.NewSymbolTable(4)
	for _, c := range []struct {
		id    string
		rules []RuleInfo
	}{
		{"", nil},
		{"p", []RuleInfo{{ID: ""}}},
		{"p", []RuleInfo{{ID: "a"}, {ID: "a"}}},
		{"p", []RuleInfo{{ID: "a", Params: []Param{{"x", "1"}, {"x", "2"}}}}},
		{"p", []RuleInfo{{ID: "a", Params: []Param{{"", "1"}}}}},
		{"p", []RuleInfo{{ID: "a", ValueNames: [3]string{"v", "", "v"}}}},
	} {
		if _, err := NewEncoder(c.id, syms, c.rules); err == nil || !strings.HasPrefix(err.Error(), "bus: ") {
			t.Errorf("%q %+v: err = %v", c.id, c.rules, err)
		}
	}
	if _, err := NewEncoder("p", nil, nil); err == nil {
		t.Error("nil symbol table accepted")
	}
}

// FuzzEncodeRoundTrip encodes arbitrary field values with the fast encoder
// and decodes them with the subscriber client: the JSON must be valid and
// every value must come back exactly.
func FuzzEncodeRoundTrip(f *testing.F) {
	f.Add("AAPL", int64(412_500_000_000), int64(1), 1.5, -2.0, int64(1_000_000_000), int64(3))
	f.Add(`Q"T\S`, int64(math.MinInt64), int64(math.MaxInt64), math.Inf(-1), 1e300, int64(1), int64(-1))
	f.Add("BRK.A", int64(-1), int64(0), math.NaN(), 5e-324, int64(250_000_000), int64(0))
	f.Fuzz(func(t *testing.T, sym string, price, ts int64, v0, v1 float64, interval, vol int64) {
		if tick.ValidSymbol(sym) != nil || interval <= 0 {
			return
		}
		syms := tick.NewSymbolTable(4)
		id, err := syms.Intern(sym)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := NewEncoder("fz", syms, []RuleInfo{{ID: "r", ValueNames: [3]string{"a", "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		sig := tick.Signal{TsEvent: ts, TsRecv: ts, Symbol: id, Price: tick.Price(price), Values: [3]float64{v0, v1}}
		m, err := DecodeBytes("s", enc.AppendSignalJSON(nil, 1, ts, &sig))
		if err != nil {
			t.Fatal(err)
		}
		s := m.(*Signal)
		same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && (math.IsNaN(b) || math.IsInf(b, 0))) }
		if s.Symbol != sym || s.TsEvent != ts || !s.Price.Equal(decimal.New(price, -9)) ||
			!same(s.Values["a"], v0) || !same(s.Values["b"], v1) {
			t.Fatalf("signal %+v from %+v", s, sig)
		}
		bar := tick.Bar{Symbol: id, Interval: interval, Start: ts, Open: tick.Price(price), VWAP: tick.Price(-price), Volume: vol}
		m, err = DecodeBytes("b", enc.AppendBarJSON(nil, 2, ts, &bar))
		if err != nil {
			t.Fatal(err)
		}
		b := m.(*Bar)
		if b.Interval != time.Duration(interval) || b.Volume != vol || !b.Open.Equal(decimal.New(price, -9)) ||
			!b.VWAP.Equal(decimal.New(-price, -9)) {
			t.Fatalf("bar %+v from %+v", b, bar)
		}
		// A BBO side is null exactly when its shares and orders are zero.
		q := tick.BBO{Symbol: id, TsEvent: ts, TsRecv: -ts, Bid: tick.Price(price), BidShares: vol,
			BidOrders: uint32(interval), Ask: tick.Price(-price), AskShares: -vol}
		m, err = DecodeBytes("q", enc.AppendBBOJSON(nil, 3, ts, &q))
		if err != nil {
			t.Fatal(err)
		}
		g := m.(*BBO)
		if g.Symbol != sym || g.TsEvent != ts || g.TsRecv != -ts || g.BidSize != vol || g.AskSize != -vol ||
			g.BidOrders != int64(uint32(interval)) || g.AskOrders != 0 ||
			g.Bid.Valid != (vol != 0 || uint32(interval) != 0) || g.Ask.Valid != (vol != 0) ||
			(g.Bid.Valid && !g.Bid.Decimal.Equal(decimal.New(price, -9))) ||
			(g.Ask.Valid && !g.Ask.Decimal.Equal(decimal.New(-price, -9))) {
			t.Fatalf("bbo %+v from %+v", g, q)
		}
		if d, err := time.ParseDuration(FormatInterval(time.Duration(interval))); err != nil || int64(d) != interval {
			t.Fatalf("interval %d: token %q parses to %v, %v", interval, FormatInterval(time.Duration(interval)), d, err)
		}
	})
}
