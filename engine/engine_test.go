package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickd/tickd/engine/stats"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

func TestConfigDefaults(t *testing.T) {
	e, syms := newTestEngine(t, Config{})
	c := e.Config()
	if c.Shards != 1 || c.MaxSymbols != syms.Cap() || c.RingCapacity != DefaultRingCapacity || c.OutputCapacity != 1024 || c.SMA != 50 || c.WindowBuckets != 20 ||
		c.EMAHalfLife != 10*time.Second || !slices.Equal(c.Windows, []time.Duration{time.Second, time.Minute}) ||
		!slices.Equal(c.Bars, []time.Duration{time.Second, time.Minute}) || len(c.Rules) != 0 || c.BookOrders != 1<<20 {
		t.Fatalf("defaults: %+v", c)
	}
	if len(e.Outputs()) != 1 {
		t.Fatalf("%d outputs", len(e.Outputs()))
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Fatal("New accepted a nil table")
	}
}

func TestConfigValidation(t *testing.T) {
	syms := tick.NewSymbolTable(16)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Shards: -1}, "shards"},
		{Config{Shards: MaxShards + 1}, "shards"},
		{Config{MaxSymbols: -1}, "max symbols"},
		{Config{RingCapacity: 1000}, "ring capacity 1000 is not a power of two"},
		{Config{OutputCapacity: 1}, "output capacity 1 is not"},
		{Config{Wait: 9}, "wait strategy"},
		{Config{SMA: -5}, "sma"},
		{Config{WindowBuckets: -1}, "window buckets"},
		{Config{EMAHalfLife: -time.Second}, "half-life"},
		{Config{Windows: []time.Duration{}}, "windows"},
		{Config{Windows: []time.Duration{time.Second + 1}}, "multiple of 20 buckets"},
		{Config{Windows: []time.Duration{time.Second, time.Second}}, "twice"},
		{Config{Windows: []time.Duration{-time.Second}}, "> 0"},
		{Config{Bars: []time.Duration{0}}, "bar interval"},
		{Config{Bars: []time.Duration{time.Second, time.Second}}, "twice"},
		{Config{Rules: []RuleSpec{{ID: "a", Type: RuleZScore, K: 1}, {ID: "a", Type: RuleZScore, K: 2}}}, `rule "a": id used twice`},
		{Config{Rules: []RuleSpec{{ID: "m", Type: RuleMove, Percent: 1, Window: 1001}}}, `rule "m": window`},
		{Config{Rules: []RuleSpec{{ID: "z", Type: RuleZScore}}}, `engine: rule "z": k 0`},
		{Config{SMA: 5, Rules: []RuleSpec{{ID: "z", Type: RuleZScore, K: 2}}}, `rule "z": k 2 can never be reached: over sma 5 trades |z| is at most (sma − 1)/√sma = 1.789`},
		{Config{Rules: []RuleSpec{{ID: "z", Type: RuleZScore, K: 7}}}, `rule "z": k 7 can never be reached: over sma 50`},
		{Config{SMA: 1, Rules: []RuleSpec{{ID: "z", Type: RuleZScore, K: 0.5}}}, `rule "z": k 0.5 can never be reached`},
		// Up re-arms at z ≤ k − hysteresis, and z ≥ −4/√5 over 5 trades: never, once fired.
		{Config{SMA: 5, Rules: []RuleSpec{{ID: "z", Type: RuleZScore, K: 1, Hysteresis: 2.8}}}, `rule "z": hysteresis 2.8 must be below k + (sma − 1)/√sma = 2.789`},
		{Config{Rules: []RuleSpec{{ID: "z", Type: RuleZScore, K: 3, Hysteresis: 10, Dir: DirDown}}}, `rule "z": hysteresis 10 must be below`},
	} {
		_, err := New(c.cfg, syms)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "engine: ") {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestConfigRuleErrorIndex: New says which rule it refuses by its index in
// Config.Rules, so that a caller can point at the rule's source.
func TestConfigRuleErrorIndex(t *testing.T) {
	ok := RuleSpec{ID: "ok", Type: RuleZScore, K: 1}
	for _, c := range []struct {
		bad   RuleSpec
		index int
	}{
		{RuleSpec{ID: "ok", Type: RuleZScore, K: 2}, 1},                             // the second of an id
		{RuleSpec{ID: "m", Type: RuleMove, Percent: 1, Window: time.Second + 1}, 1}, // a window New refuses
		{RuleSpec{ID: "z", Type: RuleZScore}, 1},                                    // one Validate refuses
	} {
		_, err := New(Config{Rules: []RuleSpec{ok, c.bad, ok}}, tick.NewSymbolTable(16))
		var re *RuleError
		if !errors.As(err, &re) || re.Index != c.index || re.ID != c.bad.ID {
			t.Errorf("%+v: error %#v, want a RuleError with index %d", c.bad, err, c.index)
		}
	}
	var re *RuleError
	if err := (RuleSpec{ID: "z", Type: RuleZScore}).Validate(); !errors.As(err, &re) || re.Index != -1 {
		t.Errorf("Validate: %#v, want a RuleError with index -1", err)
	}
}

func TestBarsStatsAndCounters(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, "AAPL", "MSFT")
	s := e.shards[0]
	ms := int64(time.Millisecond)
	huge := trade(0, t0+900*ms, 10, 1<<62) // above tick.MaxQty: two would wrap the volume
	s.process([]tick.Event{
		trade(0, t0+100*ms, 10, 5),
		trade(0, t0+900*ms, 12, 5),
		trade(1, t0+950*ms, 50, 1),
		trade(1, t0+960*ms, 50, tick.MaxQty+1), // the least size above tick.MaxQty
		trade(0, t0+800*ms, 11, 10),            // out of order: counted at 900 ms, in the first bar
		{Kind: tick.KindQuote, Symbol: 0},
		{Kind: tick.KindTrade, Symbol: 7, Qty: 1},  // unknown symbol
		{Kind: tick.KindTrade, Symbol: 1, Qty: -1}, // negative size
		{Kind: 0, Symbol: 0},                       // no kind
		{Kind: tick.Kind(200), Symbol: 0},          // unknown kind
		{Kind: tick.KindAdd, Symbol: 9},            // unknown symbol
		trade(0, t0+1000*ms, 13, 1),                // opens the next 1 s bar
		huge,
	})
	outs := drain(s.out.ring)
	if len(outs) != 2 || outs[0].Kind != tick.OutBar || outs[1].Kind != tick.OutStats {
		t.Fatalf("outputs %+v", outs)
	}
	wantBar := tick.Bar{Symbol: 0, Count: 3, Interval: int64(time.Second), Start: t0, Open: px(10), High: px(12), Low: px(10),
		Close: px(11), VWAP: px(11), Volume: 20, TsRecv: t0 + 800*ms + 1}
	if outs[0].Bar != wantBar {
		t.Fatalf("bar\n got %+v\nwant %+v", outs[0].Bar, wantBar)
	}
	st := outs[1].Stats
	if st.Symbol != 0 || st.TsEvent != t0+900*ms || st.Last != px(11) || st.Count != 3 || st.Volume != 20 ||
		st.Min != px(10) || st.Max != px(12) || st.VWAP != 11 || st.SMA != 11 || st.Mean != 11 || st.StdDev != 1 || st.ZScore != 0 {
		t.Fatalf("stats %+v", st)
	}
	want := Counters{Events: 13, Trades: 5, Bars: 1, Stats: 1, Rejected: 7, OutOfOrder: 1}
	if got := e.Counters(); got != want {
		t.Fatalf("counters %+v, want %+v", got, want)
	}

	// End of stream: every open bar of the shard (both symbols, both
	// intervals), each symbol's Stats after its bars.
	s.process([]tick.Event{{Kind: tick.KindEndOfStream}})
	var got []string
	for _, o := range drain(s.out.ring) {
		switch o.Kind {
		case tick.OutBar:
			got = append(got, fmt.Sprintf("bar %d %v n=%d", o.Bar.Symbol, time.Duration(o.Bar.Interval), o.Bar.Count))
		case tick.OutStats:
			got = append(got, fmt.Sprintf("stats %d n=%d", o.Stats.Symbol, o.Stats.Count))
		}
	}
	wantOuts := []string{"bar 0 1s n=1", "bar 0 1m0s n=4", "stats 0 n=4", "bar 1 1s n=1", "bar 1 1m0s n=1", "stats 1 n=1"}
	if !slices.Equal(got, wantOuts) {
		t.Fatalf("end of stream published\n%q\nwant\n%q", got, wantOuts)
	}
	s.process([]tick.Event{{Kind: tick.KindEndOfStream}})
	if o := drain(s.out.ring); len(o) != 0 {
		t.Fatalf("second end of stream published %d records", len(o))
	}
}

// TestBarsAcrossFlushAndEpoch: bars close as the reference's do when event
// times run from before the Unix epoch into after it, and when an end of
// stream flushes them mid-stream and trades reopen them (the engine looks
// at a symbol's bars only once a trade reaches the earliest end).
func TestBarsAcrossFlushAndEpoch(t *testing.T) {
	evs := genStream(3, 0, 3, 3000)
	for i := range evs {
		evs[i].TsEvent -= t0 + 20*sec // from −20 s on
	}
	half := len(evs) / 2
	e, _ := newTestEngine(t, Config{Bars: []time.Duration{time.Second, 7 * time.Second}}, "A", "B", "C")
	s := e.shards[0]
	s.process(evs[:half])
	s.process([]tick.Event{{Kind: tick.KindEndOfStream}})
	s.process(evs[half:])
	s.process([]tick.Event{{Kind: tick.KindEndOfStream}})
	got := map[int64]map[tick.SymbolID][]tick.Bar{}
	for _, o := range only(drain(s.out.ring), tick.OutBar) {
		if got[o.Bar.Interval] == nil {
			got[o.Bar.Interval] = map[tick.SymbolID][]tick.Bar{}
		}
		got[o.Bar.Interval][o.Bar.Symbol] = append(got[o.Bar.Interval][o.Bar.Symbol], o.Bar)
	}
	for _, iv := range []int64{sec, 7 * sec} {
		want := refBars(evs[:half], iv)
		for id, bars := range refBars(evs[half:], iv) {
			want[id] = append(want[id], bars...)
		}
		for id := range tick.SymbolID(3) {
			if !slices.Equal(got[iv][id], want[id]) {
				t.Fatalf("interval %v symbol %d: %d bars, want %d\n got %+v\nwant %+v", time.Duration(iv), id,
					len(got[iv][id]), len(want[id]), got[iv][id], want[id])
			}
		}
	}
}

// genStream returns trades for nsym symbols (ids from first), in time order
// per symbol, 1 to 30 ms apart, over about n trades.
func genStream(seed uint64, first tick.SymbolID, nsym, n int) []tick.Event {
	r := rand.New(rand.NewPCG(seed, 7))
	evs := make([]tick.Event, 0, n)
	t := t0
	prices := make([]float64, nsym)
	for i := range prices {
		prices[i] = 100
	}
	for range n {
		t += r.Int64N(30) * int64(time.Millisecond)
		k := r.IntN(nsym)
		prices[k] += float64(r.IntN(21)-10) / 100
		evs = append(evs, trade(first+tick.SymbolID(k), t, prices[k], 1+r.Int64N(500)))
	}
	return evs
}

// refBars builds each symbol's bars of interval iv from its trades with
// stats.Bars (checked against a naive builder in package stats), flushing
// at the end as a shutdown does.
func refBars(evs []tick.Event, iv int64) map[tick.SymbolID][]tick.Bar {
	bb := map[tick.SymbolID]*stats.Bars{}
	out := map[tick.SymbolID][]tick.Bar{}
	var ids []tick.SymbolID
	for i := range evs {
		ev := &evs[i]
		b := bb[ev.Symbol]
		if b == nil {
			b = new(stats.Bars)
			b.Init(iv)
			bb[ev.Symbol] = b
			ids = append(ids, ev.Symbol)
		}
		var bar tick.Bar
		if b.Due(ev.TsEvent) {
			b.Flush(&bar)
			bar.Symbol = ev.Symbol
			out[ev.Symbol] = append(out[ev.Symbol], bar)
		}
		b.Add(ev.TsEvent, ev.TsRecv, ev.Price, ev.Qty)
	}
	for _, id := range ids {
		var bar tick.Bar
		bb[id].Flush(&bar)
		bar.Symbol = id
		out[id] = append(out[id], bar)
	}
	return out
}

// collect drains every output ring in its own goroutine until Run closes
// it, as the publisher does.
func collect(e *Engine) func() [][]tick.Out {
	outs := e.Outputs()
	got := make([][]tick.Out, len(outs))
	var wg sync.WaitGroup
	for i, r := range outs {
		wg.Go(func() {
			c := r.Consumer(0)
			for {
				b, ok := c.Wait()
				if !ok {
					return
				}
				got[i] = append(got[i], b...)
				c.Release(len(b))
			}
		})
	}
	return func() [][]tick.Out { wg.Wait(); return got }
}

// feed writes evs to in through Claim/Commit in batches of up to 37 (as a
// decoder would), then Closes it.
func feed(in *Input, evs []tick.Event) {
	defer in.Close()
	for len(evs) > 0 {
		slots := in.Claim(37)
		if slots == nil {
			return
		}
		k := copy(slots, evs)
		in.Commit(k)
		evs = evs[k:]
	}
}

func TestRunShardsInputs(t *testing.T) {
	for _, c := range []struct {
		shards, inputs int
		wait           ringbuf.WaitStrategy
	}{{1, 1, 0}, {1, 3, ringbuf.Park}, {2, 2, 0}, {3, 4, ringbuf.Park}} {
		t.Run(fmt.Sprintf("shards=%d/inputs=%d/%v", c.shards, c.inputs, c.wait), func(t *testing.T) {
			const symsPer = 5
			var names []string
			for i := range c.inputs * symsPer {
				names = append(names, fmt.Sprintf("S%02d", i))
			}
			// Small rings force wrap-around and waiting on full rings.
			e, _ := newTestEngine(t, Config{Shards: c.shards, RingCapacity: 64, Wait: c.wait}, names...)
			results := collect(e)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- e.Run(ctx) }()

			// Each input owns its symbols, so each symbol's order is defined.
			var all []tick.Event
			var wg sync.WaitGroup
			for i := range c.inputs {
				evs := genStream(uint64(i), tick.SymbolID(i*symsPer), symsPer, 3000)
				all = append(all, evs...)
				in, err := e.NewInput(fmt.Sprintf("src%d", i))
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() { feed(in, evs) })
			}
			wg.Wait()
			cancel() // every input closed: the shutdown flushes the open bars
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			outs := results()

			got := map[tick.SymbolID][]tick.Bar{}
			for shard, recs := range outs {
				for _, o := range recs {
					if o.Kind == tick.OutBar && o.Bar.Interval == int64(time.Second) {
						if int(o.Bar.Symbol)%c.shards != shard {
							t.Fatalf("symbol %d on shard %d", o.Bar.Symbol, shard)
						}
						got[o.Bar.Symbol] = append(got[o.Bar.Symbol], o.Bar)
					}
				}
			}
			want := refBars(all, int64(time.Second))
			if len(got) != len(want) {
				t.Fatalf("bars for %d symbols, want %d", len(got), len(want))
			}
			for id, w := range want {
				if !slices.Equal(got[id], w) {
					t.Fatalf("symbol %d: %d bars, want %d; first diff in\n%+v\n%+v", id, len(got[id]), len(w), got[id], w)
				}
			}
			n := e.Counters()
			if n.Events != uint64(len(all)) || n.Trades != uint64(len(all)) || n.OutOfOrder != 0 || n.Rejected != 0 {
				t.Fatalf("counters %+v for %d events", n, len(all))
			}
			if _, err := e.NewInput("late"); err == nil {
				t.Fatal("NewInput after shutdown succeeded")
			}
			if err := e.Run(context.Background()); err == nil {
				t.Fatal("second Run succeeded")
			}
		})
	}
}

// TestEndOfStreamMultiShard: an end-of-stream event reaches every shard and
// flushes its bars, so trades after it in the same interval start a second
// bar with the same Start.
func TestEndOfStreamMultiShard(t *testing.T) {
	e, _ := newTestEngine(t, Config{Shards: 2, Bars: []time.Duration{time.Minute}}, "A", "B", "C")
	results := collect(e)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	in, err := e.NewInput("file")
	if err != nil {
		t.Fatal(err)
	}
	var evs []tick.Event
	for id := range tick.SymbolID(3) {
		evs = append(evs, trade(id, t0+int64(id), 10, 1))
	}
	evs = append(evs, tick.Event{Kind: tick.KindEndOfStream, Symbol: 1})
	for id := range tick.SymbolID(3) {
		evs = append(evs, trade(id, t0+10+int64(id), 20, 2))
	}
	feed(in, evs)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for shard, recs := range results() {
		var bars []string
		for _, o := range only(recs, tick.OutBar) {
			bars = append(bars, fmt.Sprintf("%d@%d:n=%d,v=%d", o.Bar.Symbol, o.Bar.Start-t0, o.Bar.Count, o.Bar.Volume))
		}
		want := map[int][]string{
			0: {"0@0:n=1,v=1", "2@0:n=1,v=1", "0@0:n=1,v=2", "2@0:n=1,v=2"},
			1: {"1@0:n=1,v=1", "1@0:n=1,v=2"},
		}[shard]
		if !slices.Equal(bars, want) {
			t.Fatalf("shard %d bars %q, want %q", shard, bars, want)
		}
	}
}

// TestShutdownWhileFeeding cancels while sources are still writing: Claim
// returns nil, the sources close, and every accepted trade is in exactly one
// published bar of each interval.
func TestShutdownWhileFeeding(t *testing.T) {
	e, _ := newTestEngine(t, Config{Shards: 2, RingCapacity: 128}, "A", "B", "C", "D")
	results := collect(e)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	var wg sync.WaitGroup
	for i := range 2 {
		in, err := e.NewInput(fmt.Sprint("conn", i))
		if err != nil {
			t.Fatal(err)
		}
		evs := genStream(uint64(i), tick.SymbolID(2*i), 2, 20000)
		wg.Go(func() {
			defer in.Close()
			for j := 0; ; j = (j + 1) % len(evs) { // loop until told to stop
				slots := in.Claim(16)
				if slots == nil {
					return
				}
				slots[0] = evs[j]
				in.Commit(1)
			}
		})
	}
	for e.Counters().Trades < 1000 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var sum [2]uint64
	for _, recs := range results() {
		for _, o := range only(recs, tick.OutBar) {
			if o.Bar.Interval == int64(time.Second) {
				sum[0] += uint64(o.Bar.Count)
			} else {
				sum[1] += uint64(o.Bar.Count)
			}
		}
	}
	n := e.Counters()
	if sum[0] != n.Trades || sum[1] != n.Trades || n.Trades < 1000 {
		t.Fatalf("bars hold %v trades, engine took %d", sum, n.Trades)
	}
}

// TestEndOfStreamFlushesItsInput: an end of stream flushes only the symbols
// its Input fed last. A, fed by a long-lived input, keeps one bar per
// interval while a second input feeds B and ends mid-interval; B's bar is
// flushed by its end.
func TestEndOfStreamFlushesItsInput(t *testing.T) {
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			e, _ := newTestEngine(t, Config{Shards: shards, Bars: []time.Duration{time.Second}}, "A", "B")
			results := collect(e)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- e.Run(ctx) }()
			long, err := e.NewInput("long")
			if err != nil {
				t.Fatal(err)
			}
			short, err := e.NewInput("short")
			if err != nil {
				t.Fatal(err)
			}
			commitConsumed(t, long, trade(0, t0, 10, 1), trade(0, t0+100, 11, 1))
			commitConsumed(t, short, trade(1, t0+200, 20, 1), tick.Event{Kind: tick.KindEndOfStream})
			commitConsumed(t, long, trade(0, t0+300, 12, 1), trade(0, t0+sec, 13, 1), trade(0, t0+sec+1, 14, 1))
			long.Close()
			short.Close()
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var bars []string
			for _, recs := range results() {
				for _, o := range only(recs, tick.OutBar) {
					bars = append(bars, fmt.Sprintf("%d@%d:n=%d", o.Bar.Symbol, (o.Bar.Start-t0)/sec, o.Bar.Count))
				}
			}
			slices.Sort(bars)
			want := []string{"0@0:n=3", "0@1:n=2", "1@0:n=1"}
			if !slices.Equal(bars, want) {
				t.Fatalf("bars %q, want %q", bars, want)
			}
		})
	}
}

// commitConsumed commits evs to in and waits until the engine has applied
// them, so that events of different Inputs reach it in a known order.
func commitConsumed(t *testing.T, in *Input, evs ...tick.Event) {
	t.Helper()
	slots := in.Claim(len(evs))
	if len(slots) != len(evs) {
		t.Fatalf("claimed %d slots, want %d", len(slots), len(evs))
	}
	copy(slots, evs)
	in.Commit(len(evs))
	waitConsumed(t, in, in.Committed(nil))
}

// waitConsumed waits until the engine has applied in's events up to pos
// (from Committed).
func waitConsumed(t *testing.T, in *Input, pos []int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !in.Consumed(pos); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("events never consumed")
		}
	}
}

// TestCrossTradeSizeChecked: a cross trade fed to the engine directly (not
// through the ITCH decoder, which refuses it) is held to tick.MaxQty as a
// trade is: one above it, or negative, is rejected and counted; two near
// 2^62 wrapped the bar's volume (the book printed any positive size).
func TestCrossTradeSizeChecked(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, "AAPL")
	s := e.shards[0]
	cross := func(ms, q int64) tick.Event {
		ev := trade(0, t0+ms*int64(time.Millisecond), 10, q)
		ev.Kind = tick.KindCrossTrade
		return ev
	}
	s.process([]tick.Event{
		cross(100, 100),
		cross(200, 1<<62),
		cross(300, 1<<62),
		cross(400, -5),
		cross(500, tick.MaxQty),
		{Kind: tick.KindEndOfStream},
	})
	var bars []tick.Bar
	for _, o := range drain(s.out.ring) {
		if o.Kind == tick.OutBar && o.Bar.Interval == int64(time.Second) {
			bars = append(bars, o.Bar)
		}
	}
	if len(bars) != 1 || bars[0].Volume != 100+tick.MaxQty || bars[0].Count != 2 {
		t.Fatalf("1 s bars %+v, want one of 2 trades, volume 100+MaxQty", bars)
	}
	if c := e.Counters(); c.Rejected != 3 || c.Trades != 2 {
		t.Fatalf("counters %+v, want 3 rejected and 2 trades", c)
	}
}
