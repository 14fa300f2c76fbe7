package engine

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// step is one scripted trade: at t0 + ms milliseconds.
type step struct {
	ms  int64
	p   float64
	qty int64
}

// fired is one expected signal.
type fired struct {
	ms  int64
	dir int8
}

// runScript feeds steps for one symbol through a shard (no goroutines) and
// returns the signals.
func runScript(t *testing.T, cfg Config, steps []step) []tick.Signal {
	t.Helper()
	if cfg.Bars == nil {
		cfg.Bars = []time.Duration{time.Hour}
	}
	e, _ := newTestEngine(t, cfg, "AAPL")
	s := e.shards[0]
	for _, st := range steps {
		q := st.qty
		if q == 0 {
			q = 100
		}
		s.process([]tick.Event{trade(0, t0+st.ms*int64(time.Millisecond), st.p, q)})
	}
	var sigs []tick.Signal
	for _, o := range only(drain(s.out.ring), tick.OutSignal) {
		sigs = append(sigs, o.Signal)
	}
	return sigs
}

func checkFired(t *testing.T, got []tick.Signal, want []fired) {
	t.Helper()
	var g []fired
	for _, s := range got {
		g = append(g, fired{(s.TsEvent - t0) / int64(time.Millisecond), s.Dir})
	}
	if len(g) != len(want) {
		t.Fatalf("signals %v, want %v", g, want)
	}
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("signals %v, want %v", g, want)
		}
	}
}

// priceScript hovers around 100: see TestPriceRule for the walk-through.
var priceScript = []step{
	{0, 99, 0},        // first: records "below"; up armed, down not (never ≥ +0.5)
	{1000, 100.1, 0},  // crosses up: fires +1
	{2000, 99.8, 0},   // below, but down not armed: nothing; up not re-armed (−0.2 > −0.5)
	{3000, 100.2, 0},  // above, up not armed: nothing
	{4000, 99.4, 0},   // −0.6 ≤ −0.5: up re-armed
	{5000, 100.3, 0},  // crosses up inside the 10 s cooldown: swallowed, up disarmed
	{6000, 99, 0},     // up re-armed
	{12000, 100.6, 0}, // crosses up, cooldown over: fires +1; +0.6 ≥ 0.5 arms down
	{13000, 99.9, 0},  // crosses down inside the cooldown: swallowed
	{25000, 100.5, 0}, // +0.5 re-arms down; above but up not re-armed
	{26000, 99.5, 0},  // crosses down after the cooldown: fires −1; −0.5 re-arms up
}

func TestPriceRule(t *testing.T) {
	base := RuleSpec{ID: "lvl", Type: RulePrice, Level: 100 * tick.PriceScale, Hysteresis: 0.5, Cooldown: 10 * time.Second}
	for _, c := range []struct {
		dir  Direction
		want []fired
	}{
		{DirDefault, []fired{{1000, 1}, {12000, 1}, {26000, -1}}},
		{DirBoth, []fired{{1000, 1}, {12000, 1}, {26000, -1}}},
		{DirUp, []fired{{1000, 1}, {12000, 1}}},
		// Up crossings do not fire, so they start no cooldown.
		{DirDown, []fired{{13000, -1}, {26000, -1}}},
	} {
		r := base
		r.Dir = c.dir
		sigs := runScript(t, Config{Rules: []RuleSpec{r}}, priceScript)
		checkFired(t, sigs, c.want)
		if c.dir == DirBoth {
			if v := sigs[0].Values; v != [3]float64{100.1, 100, 99} || sigs[0].Price != px(100.1) || sigs[0].Rule != 0 {
				t.Fatalf("first signal %+v", sigs[0])
			}
		}
	}
}

// TestManyRulesInOrder binds 150 price rules to one symbol, at levels
// 90.0, 90.1, … 104.9 (more than the 64 rules the engine once evaluated at
// a time). A first trade below them all, one above and one below again:
// every rule fires up, then down, and each trade's signals come out in
// rule order.
func TestManyRulesInOrder(t *testing.T) {
	var rules []RuleSpec
	for i := range 150 {
		rules = append(rules, RuleSpec{ID: fmt.Sprintf("lvl%d", i), Type: RulePrice, Level: tick.Price(90*tick.PriceScale + i*tick.PriceScale/10)})
	}
	sigs := runScript(t, Config{Rules: rules}, []step{{0, 80, 0}, {1, 110, 0}, {2, 80, 0}})
	if len(sigs) != 2*len(rules) {
		t.Fatalf("%d signals, want %d", len(sigs), 2*len(rules))
	}
	for i, sg := range sigs {
		rule, dir := i%len(rules), int8(1)
		if i >= len(rules) {
			dir = -1
		}
		if int(sg.Rule) != rule || sg.Dir != dir {
			t.Fatalf("signal %d: rule %d dir %d, want rule %d dir %d", i, sg.Rule, sg.Dir, rule, dir)
		}
	}
}

// TestMixedRulesInOrder: rules of different types that fire on one trade
// come out in rule order, not grouped by type as they are evaluated.
func TestMixedRulesInOrder(t *testing.T) {
	var rules []RuleSpec
	for i := range 12 {
		id := fmt.Sprintf("r%d", i)
		switch i % 3 {
		case 0:
			rules = append(rules, RuleSpec{ID: id, Type: RuleMove, Percent: 1 + float64(i), Window: time.Minute})
		case 1:
			rules = append(rules, RuleSpec{ID: id, Type: RulePrice, Level: tick.Price(90*tick.PriceScale + i*tick.PriceScale)})
		case 2:
			rules = append(rules, RuleSpec{ID: id, Type: RuleCross, Fast: time.Second, Slow: time.Duration(i) * time.Minute})
		}
	}
	// The second trade comes after the slowest ma_cross's warm-up (11 min).
	const late = 11 * 60 * 1000
	// Two firing (a move rule before a price rule, evaluated after it) take
	// the same sort as many.
	for _, n := range []int{2, len(rules)} {
		sigs := runScript(t, Config{Rules: rules[:n]}, []step{{0, 80, 0}, {late, 80, 0}, {late + 1000, 110, 0}})
		if len(sigs) != n {
			t.Fatalf("%d rules: %d signals, want %d", n, len(sigs), n)
		}
		for i, sg := range sigs {
			if int(sg.Rule) != i || sg.Dir != 1 {
				t.Fatalf("%d rules: signal %d: rule %d dir %d, want rule %d dir 1", n, i, sg.Rule, sg.Dir, i)
			}
		}
	}
}

func TestPlainEdgeTrigger(t *testing.T) {
	// No hysteresis, no cooldown: every crossing fires, a level held does not.
	r := RuleSpec{ID: "lvl", Type: RulePrice, Level: 100 * tick.PriceScale}
	sigs := runScript(t, Config{Rules: []RuleSpec{r}}, []step{
		{0, 101, 0}, // already above at the start: no signal
		{1, 101, 0}, {2, 99, 0}, {3, 99, 0}, {4, 100, 0}, {5, 101, 0}, {6, 102, 0}, {7, 100, 0}, {8, 101, 0},
	})
	// 100 exactly is neither above nor below: it re-arms (no hysteresis) without firing.
	checkFired(t, sigs, []fired{{2, -1}, {5, 1}, {8, 1}})
}

func TestMoveRule(t *testing.T) {
	r := RuleSpec{ID: "mv", Type: RuleMove, Percent: 2, Window: 10 * time.Second, Hysteresis: 1}
	cfg := Config{WindowBuckets: 10, Rules: []RuleSpec{r}} // 1 s buckets
	sigs := runScript(t, cfg, []step{
		{0, 100, 0},
		{1000, 101, 0},    // +1%
		{2000, 102.5, 0},  // +2.5%: fires +1
		{3000, 101.5, 0},  // +1.5%: not re-armed (needs ≤ +1%)
		{4000, 102.1, 0},  // above, not armed
		{5000, 100.9, 0},  // +0.9%: re-armed
		{6000, 102.2, 0},  // fires +1
		{12000, 102.2, 0}, // window is [3 s, 12 s]: ref 101.5, +0.69%
		{20000, 100, 0},   // window is [11 s, 20 s]: ref 102.2, −2.15%: fires −1
		{29999, 102.5, 0}, // [20 s, 29.999 s]: the 20 s trade is still in: +2.5%: fires +1
		{30000, 102.5, 0}, // [21 s, 30 s]: it has left; ref 102.5, 0%: re-arms
		{30001, 104.6, 0}, // +2.05%: fires +1
		{45000, 97.9, 0},  // [36 s, 45 s]: nothing before it, ref is itself: 0%
	})
	checkFired(t, sigs, []fired{{2000, 1}, {6000, 1}, {20000, -1}, {29999, 1}, {30001, 1}})
	want := [3]float64{100 * (100 - 102.2) / 102.2, 102.2, 100}
	for i, v := range sigs[2].Values {
		if math.Abs(v-want[i]) > 1e-9 {
			t.Fatalf("values %v, want %v", sigs[2].Values, want)
		}
	}
}

func TestCrossRule(t *testing.T) {
	r := RuleSpec{ID: "x", Type: RuleCross, Fast: time.Second, Slow: 10 * time.Second}
	var steps []step
	for i := range int64(40) {
		steps = append(steps, step{i * 500, 100, 0}) // flat: fast = slow (and the 10 s warm-up)
	}
	for i := range int64(20) {
		steps = append(steps, step{20000 + i*500, 110, 0}) // jump: fast leads up once
	}
	for i := range int64(20) {
		steps = append(steps, step{30000 + i*500, 90, 0}) // drop: fast leads down once
	}
	sigs := runScript(t, Config{Rules: []RuleSpec{r}}, steps)
	checkFired(t, sigs, []fired{{20000, 1}, {30000, -1}})
	if v := sigs[0].Values; !(v[0] > v[1] && v[2] > 0) {
		t.Fatalf("up values %v", v)
	}
	if v := sigs[1].Values; !(v[0] < v[1] && v[2] < 0) {
		t.Fatalf("down values %v", v)
	}
}

// TestCrossRuleWarmsUp: both EMAs start at the first price, so without a
// warm-up the first tick away from it would cross them. ma_cross waits Slow
// of event time after the symbol's first trade, then crosses as usual.
func TestCrossRuleWarmsUp(t *testing.T) {
	r := RuleSpec{ID: "x", Type: RuleCross, Fast: time.Second, Slow: 10 * time.Second}
	steps := []step{{0, 100, 0}}
	for i := range int64(200) { // then 100.5 and 99.5 in turn, every 100 ms, for 20 s
		steps = append(steps, step{100 + i*100, 100.5 - float64(i%2), 0})
	}
	sigs := runScript(t, Config{Rules: []RuleSpec{r}}, steps)
	if len(sigs) == 0 {
		t.Fatal("no signal in 10 s after the warm-up of a price swinging around its averages")
	}
	if first := (sigs[0].TsEvent - t0) / int64(time.Millisecond); first < 10000 {
		t.Errorf("first signal at %d ms, inside the 10 s warm-up", first)
	}
}

func TestZScoreRule(t *testing.T) {
	r := RuleSpec{ID: "z", Type: RuleZScore, K: 1.5, Hysteresis: 0.2}
	prices := []float64{100, 101, 100, 101, 100, 101, 105, 105, 105, 112, 90}
	// z over the last 5 from the 5th trade on: −0.73 (first: records),
	// 0.73, 1.74 (fires), 1.08 (re-arms), 0.72, 1.61 (fires), −1.66 (fires).
	var steps []step
	for i, p := range prices {
		steps = append(steps, step{int64(i) * 1000, p, 0})
	}
	sigs := runScript(t, Config{SMA: 5, Rules: []RuleSpec{r}}, steps)
	checkFired(t, sigs, []fired{{6000, 1}, {9000, 1}, {10000, -1}})
	if v := sigs[0].Values; math.Abs(v[0]-1.7361) > 1e-4 || math.Abs(v[1]-101.4) > 1e-9 || math.Abs(v[2]-math.Sqrt(4.3)) > 1e-9 {
		t.Fatalf("values %v", v)
	}
}

// TestZScoreRuleAtItsBound: the largest |z| the last of N trades can
// have, (N−1)/√N, is reached when the others are equal; a k just below it
// fires there, and New refuses one at it (see Config.checkRule).
func TestZScoreRuleAtItsBound(t *testing.T) {
	zmax := 4 / math.Sqrt(5)
	rule := RuleSpec{ID: "z", Type: RuleZScore, K: zmax - 1e-9}
	sigs := runScript(t, Config{SMA: 5, Rules: []RuleSpec{rule}}, []step{{0, 100, 0}, {1, 100, 0}, {2, 100, 0}, {3, 100, 0}, {4, 100, 0}, {5, 103, 0}})
	if len(sigs) != 1 || math.Abs(sigs[0].Values[0]-zmax) > 1e-9 {
		t.Fatalf("signals %+v, want one with z %v", sigs, zmax)
	}
	rule.K = zmax
	if _, err := New(Config{SMA: 5, Rules: []RuleSpec{rule}}, tick.NewSymbolTable(4)); err == nil {
		t.Fatal("k at the bound accepted")
	}
}

func TestVolumeRule(t *testing.T) {
	r := RuleSpec{ID: "vol", Type: RuleVolume, K: 5, Window: 10 * time.Second, Hysteresis: 2}
	var steps []step
	for i := range int64(10) {
		steps = append(steps, step{i * 1000, 100, 100})
	}
	steps = append(steps,
		step{9500, 100, 600},   // first evaluation (10 earlier trades): ratio 6, records "above"
		step{10000, 100, 100},  // window [1 s, 10 s]: avg of the 10 before 150, ratio 0.67: re-arms
		step{10500, 100, 1000}, // avg 1600/11, ratio 6.875: fires
		step{10600, 100, 800},  // ratio 3.7: above 5 − 2, stays disarmed
		step{10700, 100, 2000}, // ratio 7.6, not armed
	)
	sigs := runScript(t, Config{WindowBuckets: 10, Rules: []RuleSpec{r}}, steps)
	checkFired(t, sigs, []fired{{10500, 1}})
	want := [3]float64{1000, 1600.0 / 11, 1000 / (1600.0 / 11)}
	for i, v := range sigs[0].Values {
		if math.Abs(v-want[i]) > 1e-9 {
			t.Fatalf("values %v, want %v", sigs[0].Values, want)
		}
	}
}

func TestRuleBindingByGlob(t *testing.T) {
	rules := []RuleSpec{
		{ID: "a", Type: RulePrice, Level: 100 * tick.PriceScale, Symbols: []string{"A*", "MSF?"}},
		{ID: "b", Type: RulePrice, Level: 100 * tick.PriceScale, Symbols: []string{"BTC-*"}},
		// * and ? match a '/' too (path.Match's do not): FX and crypto pairs.
		{ID: "c", Type: RulePrice, Level: 100 * tick.PriceScale, Symbols: []string{"EUR*", "GBP?USD", "X/*"}},
	}
	e, _ := newTestEngine(t, Config{Rules: rules, Bars: []time.Duration{time.Hour}}, "AAPL", "MSFT", "BTC-USD", "IBM",
		"EUR/USD", "GBP/USD", "X/Y", "XY")
	s := e.shards[0]
	for id := range tick.SymbolID(8) {
		s.process([]tick.Event{trade(id, t0, 99, 1), trade(id, t0+1, 101, 1)})
	}
	got := map[[2]int]bool{}
	for _, o := range only(drain(s.out.ring), tick.OutSignal) {
		got[[2]int{int(o.Signal.Symbol), int(o.Signal.Rule)}] = true
	}
	want := map[[2]int]bool{{0, 0}: true, {1, 0}: true, {2, 1}: true, {4, 2}: true, {5, 2}: true, {6, 2}: true}
	if len(got) != len(want) {
		t.Fatalf("signals by (symbol, rule) %v, want %v", got, want)
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("signals by (symbol, rule) %v, want %v", got, want)
		}
	}
}

func TestRuleValidation(t *testing.T) {
	ok := RuleSpec{ID: "r", Type: RuleZScore, K: 3}
	for _, c := range []struct {
		mod  func(*RuleSpec)
		want string
	}{
		{func(r *RuleSpec) { r.ID = "" }, "empty id"},
		{func(r *RuleSpec) { r.ID = "a.b" }, "id: byte '.'"},
		{func(r *RuleSpec) { r.Type = 0 }, "unknown type"},
		{func(r *RuleSpec) { r.Symbols = []string{"[a"} }, "bad symbol pattern"},
		{func(r *RuleSpec) { r.Dir = 9 }, "unknown direction"},
		{func(r *RuleSpec) { r.Hysteresis = -1 }, "hysteresis"},
		{func(r *RuleSpec) { r.Hysteresis = math.NaN() }, "hysteresis"},
		{func(r *RuleSpec) { r.Cooldown = -1 }, "cooldown"},
		{func(r *RuleSpec) { r.K = 0 }, "k 0 must be > 0"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleMove, Window: time.Second} }, "percent"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleMove, Percent: 1} }, "window"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleMove, Percent: 100, Window: time.Second} }, "no price falls 100%"},
		{func(r *RuleSpec) {
			*r = RuleSpec{ID: "r", Type: RuleMove, Percent: 150, Window: time.Second, Dir: DirDown}
		}, "dir down would never fire down"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleCross, Fast: 2, Slow: 2} }, "fast < slow"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleVolume, K: 2, Window: time.Second, Hysteresis: 2} }, "below k"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleVolume, K: 2, Window: time.Second, Dir: DirDown} }, "only go up"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RulePrice, Level: px(1), Hysteresis: 1e10} }, "price range"},
		// Rounded to 0 it would re-arm at the level itself.
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RulePrice, Level: px(10), Hysteresis: 4e-10} }, "hysteresis 0.0000000004 is not a whole number of 1e-9"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleSpread, Bps: 0.00002, Hysteresis: 0.00003} }, "hysteresis 0.00003 must be below bps 0.00002"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RulePrice, Level: px(10), Hysteresis: 0.1234567891} }, "at most 9 decimal places"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RulePrice} }, "level 0 must be > 0"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RulePrice, Level: px(-5)} }, "level -5 must be > 0"},
		// A hysteresis the value cannot fall back by: the rule would fire once.
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RulePrice, Level: px(10), Hysteresis: 20} }, "hysteresis 20 must be below level 10"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RulePrice, Level: px(10), Hysteresis: 10, Dir: DirUp} }, "must be below level"},
		{func(r *RuleSpec) {
			*r = RuleSpec{ID: "r", Type: RuleMove, Percent: 1, Window: time.Second, Hysteresis: 101}
		}, "below percent + 100"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleCross, Fast: 1, Slow: 2, Hysteresis: 100} }, "below 100"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleSpread, Bps: 10, Hysteresis: 10} }, "below bps 10"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleTradeThrough, Hysteresis: 5} }, "≤ bps 0"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleImbalance, K: 0.5, Hysteresis: 1.5, Dir: DirDown} }, "below 1 + k"},
		// A field of another type would be ignored.
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RulePrice, Level: px(10), Window: time.Minute} }, "window does not apply to a price rule (it reads level)"},
		{func(r *RuleSpec) { r.Percent = 5 }, "percent does not apply to a zscore rule"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleCross, Fast: 1, Slow: 2, K: 1} }, "k does not apply to a ma_cross rule (it reads fast, slow)"},
		{func(r *RuleSpec) { *r = RuleSpec{ID: "r", Type: RuleSpread, Bps: 10, Levels: 3} }, "levels does not apply"},
	} {
		r := ok
		c.mod(&r)
		err := r.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), `engine: rule "`) {
			t.Errorf("%+v: error %v, want %q", r, err, c.want)
		}
	}
	for _, r := range []RuleSpec{
		ok,
		{ID: "r", Type: RulePrice, Level: px(10), Hysteresis: 9.999}, // re-arms at 0.001
		{ID: "r", Type: RulePrice, Level: px(10), Hysteresis: 0.000000001},
		{ID: "r", Type: RulePrice, Level: px(1e9), Hysteresis: 123456.123456789},
		{ID: "r", Type: RulePrice, Level: px(10), Hysteresis: 20, Dir: DirDown},
		{ID: "r", Type: RuleSpread, Bps: 10, Hysteresis: 20, Dir: DirDown},
		{ID: "r", Type: RuleTradeThrough, Bps: 2, Hysteresis: 2}, // a trade inside the touch re-arms
		{ID: "r", Type: RuleImbalance, K: 0.5, Hysteresis: 1.2},
		{ID: "r", Type: RuleMove, Percent: 150, Window: time.Second, Dir: DirUp},
	} {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	for _, r := range append(DefaultRules(), DefaultBookRules()...) {
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRuleInfoDecimalText: a signal's params are the rule's numbers as
// decimal text that reads back to the configured value, never in exponent
// form ("1e-05"), however small or large.
func TestRuleInfoDecimalText(t *testing.T) {
	decimal := regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	for _, r := range []RuleSpec{
		{ID: "h", Type: RuleSpread, Bps: 1e21, Hysteresis: 0.00001},
		{ID: "k", Type: RuleZScore, K: 0.0000001, Hysteresis: 1e-9},
		{ID: "p", Type: RuleMove, Percent: 0.000025, Window: time.Second},
		{ID: "v", Type: RuleVolume, K: 123456789012345680000, Window: time.Second},
		{ID: "i", Type: RuleImbalance, K: 0.000001},
		{ID: "t", Type: RuleTradeThrough, Bps: 0.0000015},
	} {
		_, params, _ := r.Info()
		for _, p := range params {
			switch p[0] {
			case "percent", "k", "bps", "hysteresis":
			default:
				continue
			}
			v, err := strconv.ParseFloat(p[1], 64)
			if !decimal.MatchString(p[1]) || err != nil || (v != r.K && v != r.Bps && v != r.Percent && v != r.Hysteresis) {
				t.Errorf("rule %s: %s = %q, want decimal text of the configured value", r.ID, p[0], p[1])
			}
		}
	}
}

func TestRuleInfo(t *testing.T) {
	r := RuleSpec{ID: "lvl", Type: RulePrice, Level: 101_500_000_000, Hysteresis: 0.25, Cooldown: 5 * time.Second, Symbols: []string{"A*", "B*"}}
	typ, params, names := r.Info()
	if typ != "price" || names != [3]string{"price", "level", "prev_price"} {
		t.Fatalf("type %q names %v", typ, names)
	}
	want := [][2]string{{"level", "101.5"}, {"dir", "both"}, {"hysteresis", "0.25"}, {"cooldown", "5s"}, {"symbols", "A*,B*"}}
	if len(params) != len(want) {
		t.Fatalf("params %v, want %v", params, want)
	}
	for i := range want {
		if params[i] != want[i] {
			t.Fatalf("params %v, want %v", params, want)
		}
	}
	for _, r := range DefaultRules() {
		typ, params, names := r.Info()
		if typ != r.Type.String() || len(params) < 5 || names[0] == "" || names[2] == "" {
			t.Fatalf("%s: %q %v %v", r.ID, typ, params, names)
		}
		if p, err := ParseRuleType(typ); err != nil || p != r.Type {
			t.Fatalf("ParseRuleType(%q) = %v, %v", typ, p, err)
		}
	}
	for _, d := range []Direction{DirUp, DirDown, DirBoth} {
		if p, err := ParseDirection(d.String()); err != nil || p != d {
			t.Fatalf("ParseDirection(%q) = %v, %v", d, p, err)
		}
	}
	if _, err := ParseDirection("sideways"); err == nil {
		t.Fatal("ParseDirection accepted sideways")
	}
	if _, err := ParseRuleType("magic"); err == nil {
		t.Fatal("ParseRuleType accepted magic")
	}
}

// TestPriceSignalValuesExact: a price signal's values are the nearest
// float64 of each decimal, the previous price's too (it once came out of
// the statistics' ×1e-9, an ulp off: 411.90000000000003).
func TestPriceSignalValuesExact(t *testing.T) {
	rule := RuleSpec{ID: "lvl", Type: RulePrice, Level: 412 * tick.PriceScale}
	sigs := runScript(t, Config{Rules: []RuleSpec{rule}}, []step{{0, 411.9, 0}, {1, 412.123456789, 0}, {2, 0.3, 0}, {3, 412.1, 0}})
	want := [][3]float64{{412.123456789, 412, 411.9}, {0.3, 412, 412.123456789}, {412.1, 412, 0.3}}
	if len(sigs) != len(want) {
		t.Fatalf("%d signals, want %d", len(sigs), len(want))
	}
	for i, s := range sigs {
		if s.Values != want[i] {
			t.Errorf("signal %d values %v, want %v", i, s.Values, want[i])
		}
	}
}
