package ui

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wireMaker makes tickd's real messages: encoded by bus.Encoder as the
// publisher does, then decoded by bus.DecodeBytes as a subscriber does.
type wireMaker struct {
	t    testing.TB
	syms *tick.SymbolTable
	enc  *bus.Encoder
	seq  uint64
}

func newWireMaker(t testing.TB) *wireMaker {
	syms := tick.NewSymbolTable(1024)
	enc, err := bus.NewEncoder("test-1", syms, []bus.RuleInfo{
		{ID: "level_100", Type: "price", ValueNames: [3]string{"last", "level"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &wireMaker{t: t, syms: syms, enc: enc}
}

func (w *wireMaker) id(sym string) tick.SymbolID {
	id, err := w.syms.Intern(sym)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *wireMaker) decode(subject string, b []byte) bus.Message {
	w.t.Helper()
	m, err := bus.DecodeBytes(subject, b)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *wireMaker) next() uint64 { w.seq++; return w.seq }

func px(s string) tick.Price {
	p, err := tick.ParsePrice(s)
	if err != nil {
		panic(err)
	}
	return p
}

// t0 is the event time of the first message, ns.
const t0 = int64(1_800_000_000_000_000_000)

func (w *wireMaker) stats(sym string, tsEvent int64, last string, sma float64) bus.Message {
	return w.decode("tickd.stats."+sym, w.statsJSON(sym, tsEvent, last, sma))
}

// statsJSON is a stats message as the publisher sends it.
func (w *wireMaker) statsJSON(sym string, tsEvent int64, last string, sma float64) []byte {
	s := tick.Stats{Symbol: w.id(sym), TsEvent: tsEvent, Last: px(last), SMA: sma, EMA: sma + 0.5,
		VWAP: sma - 0.5, StdDev: 1, ZScore: 0.25, Min: px("1"), Max: px("1000"), Count: 10, Volume: 1000}
	return w.enc.AppendStatsJSON(nil, w.next(), tsEvent+1000, &s)
}

func (w *wireMaker) bar(sym string, interval time.Duration, start int64, close string) bus.Message {
	b := tick.Bar{Symbol: w.id(sym), Count: 3, Interval: int64(interval), Start: start, Open: px("100"),
		High: px("102"), Low: px("99"), Close: px(close), VWAP: px("100.5"), Volume: 300, TsRecv: start + 1}
	return w.decode("tickd.bar", w.enc.AppendBarJSON(nil, w.next(), start+int64(interval)+5000, &b))
}

func (w *wireMaker) signal(sym string, tsEvent int64, dir int8, price string, latency time.Duration) bus.Message {
	s := tick.Signal{TsEvent: tsEvent, TsRecv: tsEvent + 10, Symbol: w.id(sym), Dir: dir, Price: px(price),
		Values: [3]float64{px(price).Float64(), 100}}
	return w.decode("tickd.signal", w.enc.AppendSignalJSON(nil, w.next(), tsEvent+10+int64(latency), &s))
}

func (w *wireMaker) bboMsg(sym string, tsRecv int64, bid string, latency time.Duration) *nats.Msg {
	b := tick.BBO{Symbol: w.id(sym), TsEvent: tsRecv - 5, TsRecv: tsRecv, Bid: px(bid), BidShares: 100, BidOrders: 1}
	return &nats.Msg{Subject: "tickd.bbo." + sym, Data: w.enc.AppendBBOJSON(nil, w.next(), tsRecv+int64(latency), &b)}
}

// update is a decoded update event.
type update struct {
	Sym       string
	Known     bool
	Reset     bool
	Interval  string
	Intervals []string
	Points    [][5]*float64
	Bars      [][8]float64
	Marks     [][4]any
	Quote     map[string]any
	Watch     [][3]any
	Signals   [][7]any
	Rates     map[string]*float64
	Latency   map[string]float64
	Hop       map[string]float64
}

func readUpdate(t *testing.T, h *Hub, c *cursor) update {
	t.Helper()
	b := h.appendUpdate(nil, c)
	var u update
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatalf("update is not JSON: %v\n%s", err, b)
	}
	return u
}

func TestRing(t *testing.T) {
	r := newRing[int](3)
	if r.last() != nil {
		t.Fatal("empty ring has a last item")
	}
	collect := func(from uint64) (got []int, lost bool) {
		lost = r.since(from, func(v *int) { got = append(got, *v) })
		return got, lost
	}
	for i := range 5 {
		r.push(i)
	}
	if got, lost := collect(0); !lost || len(got) != 3 || got[0] != 2 || got[2] != 4 {
		t.Fatalf("since(0) after 5 pushes into 3: %v lost=%v; want [2 3 4] lost", got, lost)
	}
	if got, lost := collect(3); lost || len(got) != 2 || got[0] != 3 {
		t.Fatalf("since(3): %v lost=%v; want [3 4]", got, lost)
	}
	if got, lost := collect(5); lost || len(got) != 0 {
		t.Fatalf("since(5): %v lost=%v; want nothing", got, lost)
	}
	if *r.last() != 4 || r.oldest() != 2 || len(r.buf) != 3 {
		t.Fatalf("last %d oldest %d len %d", *r.last(), r.oldest(), len(r.buf))
	}
}

// TestHubBoundedHistory: a symbol keeps its last Points points, a cursor
// gets each point once, and a cursor left behind the ring starts over.
func TestHubBoundedHistory(t *testing.T) {
	w := newWireMaker(t)
	h := NewHub(Options{Points: 10})
	for i := range 25 {
		h.Handle(w.stats("AAA", t0+int64(i)*1e9, strconv.Itoa(100+i), float64(100+i)))
	}
	var c cursor
	u := readUpdate(t, h, &c)
	if u.Sym != "AAA" || !u.Known || !u.Reset {
		t.Fatalf("first update: sym %q known %v reset %v", u.Sym, u.Known, u.Reset)
	}
	if len(u.Points) != 10 || *u.Points[0][1] != 115 || *u.Points[9][1] != 124 {
		t.Fatalf("got %d points from %v to %v; want the last 10, 115..124", len(u.Points), *u.Points[0][1], *u.Points[len(u.Points)-1][1])
	}
	if got, want := *u.Points[0][0], float64(t0+15e9)/1e6; got != want {
		t.Errorf("point time %v ms, want %v", got, want)
	}
	if sma, ema, vwap := *u.Points[9][2], *u.Points[9][3], *u.Points[9][4]; sma != 124 || ema != 124.5 || vwap != 123.5 {
		t.Errorf("moving averages %v %v %v, want 124 124.5 123.5", sma, ema, vwap)
	}
	if u.Quote["last"] != "124" || u.Quote["volume"] != 1000.0 {
		t.Errorf("quote %v", u.Quote)
	}
	// The watchlist's change is against the first price seen: 100 → 124.
	if len(u.Watch) != 1 || u.Watch[0][0] != "AAA" || u.Watch[0][1] != "124" || math.Abs(u.Watch[0][2].(float64)-24) > 1e-9 {
		t.Errorf("watch %v", u.Watch)
	}

	// Two more: a delta of two, no reset, and no watchlist unless it changed.
	h.Handle(w.stats("AAA", t0+25e9, "125", 125))
	h.Handle(w.stats("AAA", t0+26e9, "126", 126))
	u = readUpdate(t, h, &c)
	if u.Reset || len(u.Points) != 2 || *u.Points[1][1] != 126 || len(u.Watch) != 1 {
		t.Fatalf("delta: reset %v, %d points, watch %v; want 2 points, no reset", u.Reset, len(u.Points), u.Watch)
	}
	u = readUpdate(t, h, &c)
	if u.Reset || len(u.Points) != 0 || u.Watch != nil {
		t.Fatalf("nothing new: reset %v, %d points, watch %v", u.Reset, len(u.Points), u.Watch)
	}

	// More than the ring holds while the cursor sleeps: it starts over.
	for i := range 11 {
		h.Handle(w.stats("AAA", t0+int64(30+i)*1e9, "130", 130))
	}
	if u = readUpdate(t, h, &c); !u.Reset || len(u.Points) != 10 {
		t.Fatalf("fell behind: reset %v, %d points; want a reset with 10", u.Reset, len(u.Points))
	}
}

// TestHubSymbolsBounded: symbols past MaxSymbols are counted, not kept.
func TestHubSymbolsBounded(t *testing.T) {
	w := newWireMaker(t)
	h := NewHub(Options{MaxSymbols: 3})
	for _, s := range []string{"EEE", "BBB", "DDD", "AAA", "CCC"} {
		h.Handle(w.stats(s, t0, "10", 10))
	}
	if got := h.Symbols(); len(got) != 3 || got[0] != "BBB" || got[1] != "DDD" || got[2] != "EEE" {
		t.Fatalf("symbols %v, want the first 3 seen, sorted", got)
	}
	u := readUpdate(t, h, &cursor{symbol: "AAA"})
	if u.Known || u.Points != nil || *u.Rates["overflow"] != 2 || *u.Rates["symbols"] != 3 {
		t.Fatalf("AAA: known %v points %v rates %v", u.Known, u.Points, u.Rates)
	}
	if u = readUpdate(t, h, &cursor{}); u.Sym != "BBB" {
		t.Errorf("default symbol %q, want the first by name", u.Sym)
	}
}

// TestHubSignalsAndLatency: signals reach the global list and the
// symbol's markers; tick-to-publish percentiles are nearest-rank over them.
func TestHubSignalsAndLatency(t *testing.T) {
	w := newWireMaker(t)
	h := NewHub(Options{Signals: 5, Marks: 3})
	h.Handle(w.stats("AAA", t0, "100", 100))
	for i := 1; i <= 1000; i++ {
		sym := "AAA"
		if i%2 == 0 {
			sym = "BBB"
		}
		dir := int8(1)
		if i%3 == 0 {
			dir = -1
		}
		h.Handle(w.signal(sym, t0+int64(i)*1e6, dir, "100.25", time.Duration(i)*time.Microsecond))
	}
	u := readUpdate(t, h, &cursor{symbol: "AAA"})
	if len(u.Signals) != 5 {
		t.Fatalf("%d signals, want the last 5", len(u.Signals))
	}
	last := u.Signals[4]
	if last[1] != "BBB" || last[2] != "level_100" || last[3] != "up" || last[4] != "100.25" ||
		last[5] != "last=100.25 level=100" || last[6] != 1000.0 {
		t.Errorf("newest signal %v", last)
	}
	if len(u.Marks) != 3 || u.Marks[2][0] != float64(t0+999e6)/1e6 || u.Marks[2][2] != -1.0 || u.Marks[2][3] != "level_100" {
		t.Errorf("AAA markers %v, want the last 3 of AAA's, newest at 999 ms with dir -1", u.Marks)
	}
	lat := u.Latency
	if lat["n"] != 1000 || lat["p50"] != 500 || lat["p99"] != 990 || lat["p999"] != 999 || lat["max"] != 1000 {
		t.Errorf("tick-to-publish %v, want n 1000, p50 500, p99 990, p99.9 999, max 1000 µs", lat)
	}
	if u.Hop["n"] != 1001 {
		t.Errorf("publish-to-dashboard over %v messages, want 1001", u.Hop["n"])
	}
}

// TestHubBarsAndNaN: each bar interval is a series (Intervals of them at
// most), the shortest by default; NaN statistics travel as null.
func TestHubBarsAndNaN(t *testing.T) {
	w := newWireMaker(t)
	h := NewHub(Options{Intervals: 2})
	for i := range 3 {
		h.Handle(w.bar("AAA", time.Second, t0+int64(i)*1e9, "101"))
	}
	h.Handle(w.bar("AAA", time.Minute, t0, "100.75"))
	h.Handle(w.bar("AAA", time.Minute, t0, "101.5")) // the same bar again (flushed at shutdown): replaced
	h.Handle(w.bar("AAA", time.Hour, t0, "100"))     // a third interval, past Intervals: not kept
	h.Handle(w.stats("AAA", t0, "101", math.NaN()))
	u := readUpdate(t, h, &cursor{})
	if u.Interval != "1s" || len(u.Intervals) != 2 || u.Intervals[1] != "1m" || len(u.Bars) != 3 {
		t.Fatalf("interval %q of %v, %d bars", u.Interval, u.Intervals, len(u.Bars))
	}
	if b := u.Bars[2]; b[0] != float64(t0+2e9)/1e6 || b[1] != 100 || b[2] != 102 || b[3] != 99 || b[4] != 101 || b[5] != 300 || b[6] != 100.5 || b[7] != 3 {
		t.Errorf("bar %v", b)
	}
	if p := u.Points[0]; p[2] != nil || p[1] == nil {
		t.Errorf("point with a NaN SMA: %v, want null for it", p)
	}
	if v, ok := u.Quote["sma"]; !ok || v != nil {
		t.Errorf("quote sma %v, want null", v)
	}
	u = readUpdate(t, h, &cursor{interval: "1m"})
	if u.Interval != "1m" || len(u.Bars) != 1 || u.Bars[0][4] != 101.5 {
		t.Fatalf("1m: interval %q, bars %v", u.Interval, u.Bars)
	}
}

// TestHubRates: throughput is per second over the totals' recent change.
func TestHubRates(t *testing.T) {
	w := newWireMaker(t)
	now := time.Unix(0, t0)
	var events uint64
	h := NewHub(Options{Now: func() time.Time { return now },
		Counters: func() Counters { return Counters{Events: events, Signals: events / 100} }})
	if r := readUpdate(t, h, &cursor{}).Rates; r["ticks"] != nil || r["msgs"] != nil {
		t.Errorf("rates from one sample: ticks %v msgs %v, want null (unknown yet)", r["ticks"], r["msgs"])
	}
	for range 8 { // 2s in steps of 250ms, 1000 events and 4 messages each
		now = now.Add(250 * time.Millisecond)
		events += 1000
		for range 4 {
			h.Handle(w.stats("AAA", t0, "1", 1))
		}
		readUpdate(t, h, &cursor{})
	}
	r := readUpdate(t, h, &cursor{}).Rates
	if *r["ticks"] != 4000 || *r["signals"] != 40 || *r["msgs"] != 16 {
		t.Errorf("rates ticks %v signals %v msgs %v; want 4000, 40, 16 a second", *r["ticks"], *r["signals"], *r["msgs"])
	}
	// The feed stops and nobody asks for 10 s: the rates are 0, not
	// unknown (null) for want of a sample inside the window.
	now = now.Add(10 * time.Second)
	if r := readUpdate(t, h, &cursor{}).Rates; r["ticks"] == nil || *r["ticks"] != 0 || r["msgs"] == nil || *r["msgs"] != 0 {
		t.Errorf("rates after a quiet 10 s: ticks %v msgs %v, want 0", r["ticks"], r["msgs"])
	}
}

// TestHubBBOThrottle: a symbol's BBOs are decoded at most every bboEvery;
// the rest, and those of symbols past MaxSymbols, are only counted.
func TestHubBBOThrottle(t *testing.T) {
	w := newWireMaker(t)
	now := time.Unix(0, t0)
	h := NewHub(Options{MaxSymbols: 2, Now: func() time.Time { return now }})
	handle := h.bboThrottle()
	for i := range 5 { // the first decoded, four skipped
		handle(w.bboMsg("AAA", t0+int64(i), "10.5"+strconv.Itoa(i), 7*time.Microsecond))
	}
	now = now.Add(bboEvery)
	handle(w.bboMsg("AAA", t0+10, "10.75", 9*time.Microsecond)) // decoded
	handle(w.bboMsg("BBB", t0+11, "20", 9*time.Microsecond))    // decoded: a second symbol
	handle(w.bboMsg("CCC", t0+12, "30", 9*time.Microsecond))    // past MaxSymbols: counted only
	u := readUpdate(t, h, &cursor{symbol: "AAA"})
	if u.Quote["bid"] != "10.75" || u.Quote["ask"] != nil || u.Quote["bid_size"] != 100.0 {
		t.Errorf("AAA quote %v, want bid 10.75 x 100, no ask", u.Quote)
	}
	if *u.Rates["received"] != 8 || u.Latency["n"] != 3 || u.Latency["max"] != 9 || u.Latency["p50"] != 9 {
		t.Errorf("received %v, tick-to-publish %v; want 8 received, 3 decoded (7, 9, 9 µs)", *u.Rates["received"], u.Latency)
	}
	if got := h.Symbols(); len(got) != 2 {
		t.Errorf("symbols %v", got)
	}
}

// TestHubTakesEveryKind: a message of any bus.Kind, the status events
// included, is counted, never indexed past the counters.
func TestHubTakesEveryKind(t *testing.T) {
	h := NewHub(Options{})
	h.Handle(&bus.Status{Publisher: "p"})
	h.Handle(&bus.FeedStatus{Publisher: "p"})
	if h.counts[bus.KindStatus] != 1 || h.counts[bus.KindFeed] != 1 {
		t.Fatalf("counts %v", h.counts)
	}
}

// TestUpdateIsUTF8: a symbol asked for that is not UTF-8 (?symbol=%FF) comes
// back as U+FFFD: the update stays valid UTF-8, as JSON must be.
func TestUpdateIsUTF8(t *testing.T) {
	h := NewHub(Options{})
	b := h.appendUpdate(nil, &cursor{symbol: "A\xffB\u00e9"})
	if !utf8.Valid(b) || !strings.Contains(string(b), `"sym":"A\ufffdB`+"\u00e9"+`"`) {
		t.Errorf("update %q: want valid UTF-8, the bad byte as \\ufffd", b)
	}
}
