package engine

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickd/tickd/tick"
)

// RuleType names what a rule watches.
type RuleType uint8

// Rule types. Each compares one value per trade against thresholds (see
// RuleSpec for which fields each uses and Info for the values it reports).
const (
	RulePrice        RuleType = iota + 1 // "price": the trade price crosses Level
	RuleMove                             // "move": percent change over Window crosses ±Percent
	RuleCross                            // "ma_cross": the Fast EMA crosses the Slow EMA
	RuleZScore                           // "zscore": the z-score over the last N trades crosses ±K
	RuleVolume                           // "volume_spike": trade size exceeds K × the window's average
	RuleSpread                           // "spread": the book's bid-ask spread crosses Bps basis points of the mid
	RuleImbalance                        // "imbalance": the book's share imbalance over Levels levels crosses ±K
	RuleTradeThrough                     // "trade_through": a trade prints more than Bps beyond the touch
	ruleTypeEnd
)

var ruleTypeNames = [ruleTypeEnd]string{"", "price", "move", "ma_cross", "zscore", "volume_spike",
	"spread", "imbalance", "trade_through"}

// bookRule reports whether rules of type t are evaluated on book changes
// rather than on trades.
func (t RuleType) bookRule() bool { return t == RuleSpread || t == RuleImbalance }

func (t RuleType) String() string {
	if t > 0 && t < ruleTypeEnd {
		return ruleTypeNames[t]
	}
	return "ruletype(" + strconv.Itoa(int(t)) + ")"
}

// ParseRuleType parses the String form of a RuleType.
func ParseRuleType(s string) (RuleType, error) {
	for t := RulePrice; t < ruleTypeEnd; t++ {
		if ruleTypeNames[t] == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("engine: unknown rule type %q (want price, move, ma_cross, zscore, volume_spike, spread, imbalance or trade_through)", s)
}

// Direction says which crossings fire a rule.
type Direction uint8

// Directions. DirDefault means the rule type's default: DirBoth, except
// volume_spike which only goes up and spread which defaults to up (widening).
const (
	DirDefault Direction = iota
	DirUp                // the value rises through the upper threshold
	DirDown              // the value falls through the lower threshold
	DirBoth
)

func (d Direction) String() string {
	switch d {
	case DirUp:
		return "up"
	case DirDown:
		return "down"
	case DirBoth:
		return "both"
	}
	return "default"
}

// ParseDirection parses "up", "down", "both" or "" (DirDefault).
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "up":
		return DirUp, nil
	case "down":
		return DirDown, nil
	case "both":
		return DirBoth, nil
	case "":
		return DirDefault, nil
	}
	return 0, fmt.Errorf("engine: unknown direction %q (want up, down or both)", s)
}

// RuleSpec is one rule as configured. The caller parses its configuration
// format into RuleSpecs; New validates them (see Validate) and binds each to
// the symbols whose names match one of its Symbols patterns.
//
// Every rule computes one value v per trade of a bound symbol (spread and
// imbalance: per change of its L3 book) and fires on a
// crossing: upwards when v rises above the upper threshold, downwards when it
// falls below the lower one. After firing up it cannot fire up again until v
// has fallen back to the threshold − Hysteresis or below (down: mirrored),
// and no signal of the rule for that symbol fires within Cooldown of event
// time of the previous one; a crossing inside the cooldown is swallowed (the
// rule must re-arm before it can fire again; a Hysteresis the value can
// never fall back by is refused by Validate, a zscore's by New, which
// knows the SMA). The first trade a rule sees
// (after its warm-up) only records which side v is on: a condition already
// true then does not fire.
//
//	type          v                                     thresholds  Hysteresis unit
//	price         p − Level                             0           currency units
//	move          100·(p − p₀)/|p₀|, p₀ = window First  ±Percent    percent points
//	ma_cross      100·(fast − slow)/|slow| (EMAs)       0           percent points
//	zscore        (p − SMA)/StdDev over Config.SMA      ±K          z units
//	volume_spike  q / mean q of the window's earlier    K (up)      multiples
//	              trades
//	spread        10⁴·(ask − bid)/mid of the book       Bps         basis points
//	imbalance     (B − A)/(B + A), B and A the shares   ±K          fraction
//	              of the best Levels bid/ask levels
//	trade_through 10⁴·(p − ask)/mid if p > ask,          ±Bps        basis points
//	              10⁴·(p − bid)/mid if p < bid, else 0
//
// where p and q are the trade's price and size, First is the window's
// first price (see stats.Window), and the EMAs have half-lives Fast and
// Slow (an EMA is shared by every user of its half-life). bid and ask are
// the symbol's L3 book's best prices (see package book); for
// trade_through, as the book stood just before the trade's own message, so
// a print above the offer fires up and one below the bid fires down. Book
// rules see only symbols fed L3 events (ITCH): on a trades-only feed they
// never evaluate.
//
// Warm-up: zscore waits for Config.SMA trades; volume_spike for
// MinVolumeTrades earlier trades in its window; ma_cross for Slow of event
// time after the symbol's first trade (both EMAs start at its price, and
// until the slow one has had a half-life to move, any tick crosses them);
// move starts at the first trade; the book rules wait until both sides of
// the book have orders.
type RuleSpec struct {
	ID         string        // unique; letters, digits, '_' and '-' (it is a NATS subject token)
	Type       RuleType      //
	Symbols    []string      // glob patterns (path.Match's, * and ? matching '/' too), e.g. "AAPL", "BTC-*", "EUR/*"; empty means every symbol
	Dir        Direction     // which crossings fire; DirDefault: the type's default
	Level      tick.Price    // price: the level (> 0)
	Percent    float64       // move: the threshold in percent (> 0)
	Window     time.Duration // move, volume_spike: the event-time window
	Fast, Slow time.Duration // ma_cross: EMA half-lives, 0 < Fast < Slow
	K          float64       // zscore: the |z| threshold; volume_spike: the multiple (> 0); imbalance: 0 < K < 1
	Bps        float64       // spread: the threshold (> 0); trade_through: how far beyond the touch (≥ 0)
	Levels     int           // imbalance: book levels per side summed; default 5
	Hysteresis float64       // ≥ 0, in the unit of v (see the table)
	Cooldown   time.Duration // ≥ 0, event time between two signals of the rule for a symbol
}

// MinVolumeTrades is how many earlier trades a volume_spike rule's window
// must hold before the rule is evaluated: fewer make a noisy average.
const MinVolumeTrades = 10

// maxRules bounds the rule set: tick.Signal.Rule is a uint16.
const maxRules = math.MaxUint16 + 1

// dir returns the effective direction.
func (r RuleSpec) dir() Direction {
	if r.Dir != DirDefault {
		return r.Dir
	}
	if r.Type == RuleVolume || r.Type == RuleSpread {
		return DirUp
	}
	return DirBoth
}

// levels returns the effective Levels of an imbalance rule.
func (r RuleSpec) levels() int {
	if r.Levels == 0 {
		return DefaultImbalanceLevels
	}
	return r.Levels
}

// DefaultImbalanceLevels is an imbalance rule's Levels when not set.
const DefaultImbalanceLevels = 5

// decimal is a rule number as decimal text, never an exponent ("0.00001",
// not "1e-05"): the shortest that reads back to it, as a configuration
// would spell it (signal params, validation errors).
type decimal float64

func (d decimal) String() string { return strconv.FormatFloat(float64(d), 'f', -1, 64) }

// Validate reports the first problem with r, as a *RuleError
// (`engine: rule "id": ...`) with Index −1.
func (r RuleSpec) Validate() error {
	if err := r.validate(); err != nil {
		return &RuleError{Index: -1, ID: r.ID, Err: err}
	}
	return nil
}

// RuleError is a rule that RuleSpec.Validate or New refuses. Index is its
// place in Config.Rules (from New; −1 from Validate, which does not know
// it), so that a caller can say where in its own configuration the rule
// came from.
type RuleError struct {
	Index int
	ID    string
	Err   error
}

func (e *RuleError) Error() string { return fmt.Sprintf("engine: rule %q: %v", e.ID, e.Err) }

func (e *RuleError) Unwrap() error { return e.Err }

func (r RuleSpec) validate() error {
	if r.ID == "" {
		return fmt.Errorf("empty id")
	}
	for i := 0; i < len(r.ID); i++ {
		c := r.ID[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("id: byte %q at %d (want letters, digits, '_' or '-')", c, i)
		}
	}
	for _, p := range r.Symbols {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return fmt.Errorf("bad symbol pattern %q", p)
		}
	}
	if r.Dir > DirBoth {
		return fmt.Errorf("unknown direction %d", r.Dir)
	}
	if !finite(r.Hysteresis) || r.Hysteresis < 0 {
		return fmt.Errorf("hysteresis %v must be finite and ≥ 0", decimal(r.Hysteresis))
	}
	if r.Cooldown < 0 {
		return fmt.Errorf("cooldown %v must be ≥ 0", r.Cooldown)
	}
	switch r.Type {
	case RulePrice:
		if r.Level <= 0 { // a trade's price is > 0: it would never cross
			return fmt.Errorf("level %v must be > 0", r.Level)
		}
		h, ok := tick.PriceFromFloat(r.Hysteresis)
		if !ok {
			return fmt.Errorf("hysteresis %v out of the price range", decimal(r.Hysteresis))
		}
		if h.Float64() != r.Hysteresis { // it would be rounded to h, silently
			return fmt.Errorf("hysteresis %v is not a whole number of 1e-9: a price rule's hysteresis is a price difference, with at most 9 decimal places", decimal(r.Hysteresis))
		}
	case RuleMove:
		if !finite(r.Percent) || r.Percent <= 0 {
			return fmt.Errorf("percent %v must be > 0", decimal(r.Percent))
		}
		if r.Window <= 0 {
			return fmt.Errorf("window %v must be > 0", r.Window)
		}
		if d := r.dir(); d != DirUp && r.Percent >= 100 {
			return fmt.Errorf("percent %v: no price falls %v%% (it stays > 0), so dir %v would never fire down: give dir up", decimal(r.Percent), decimal(r.Percent), d)
		}
	case RuleCross:
		if r.Fast <= 0 || r.Slow <= r.Fast {
			return fmt.Errorf("need 0 < fast < slow, have fast %v slow %v", r.Fast, r.Slow)
		}
	case RuleZScore:
		if !finite(r.K) || r.K <= 0 {
			return fmt.Errorf("k %v must be > 0", decimal(r.K))
		}
	case RuleVolume:
		if !finite(r.K) || r.K <= 0 {
			return fmt.Errorf("k %v must be > 0", decimal(r.K))
		}
		if r.Window <= 0 {
			return fmt.Errorf("window %v must be > 0", r.Window)
		}
		if r.Hysteresis >= r.K {
			return fmt.Errorf("hysteresis %v must be below k %v (the ratio never falls below 0)", decimal(r.Hysteresis), decimal(r.K))
		}
		if d := r.dir(); d != DirUp {
			return fmt.Errorf("direction %v does not apply: volume spikes only go up", d)
		}
	case RuleSpread:
		if !finite(r.Bps) || r.Bps <= 0 {
			return fmt.Errorf("bps %v must be > 0", decimal(r.Bps))
		}
	case RuleTradeThrough:
		if !finite(r.Bps) || r.Bps < 0 {
			return fmt.Errorf("bps %v must be ≥ 0", decimal(r.Bps))
		}
	case RuleImbalance:
		if !finite(r.K) || r.K <= 0 || r.K >= 1 {
			return fmt.Errorf("k %v must be in (0, 1): imbalance lies in [−1, 1]", decimal(r.K))
		}
		if r.Levels < 0 {
			return fmt.Errorf("levels %d must be ≥ 1 (0: default %d)", r.Levels, DefaultImbalanceLevels)
		}
	default:
		return fmt.Errorf("unknown type %v", r.Type)
	}
	if err := r.checkFields(); err != nil {
		return err
	}
	return r.checkRearm()
}

// ruleFields lists the type-specific fields each rule type reads.
var ruleFields = [ruleTypeEnd][]string{
	RulePrice: {"level"}, RuleMove: {"percent", "window"}, RuleCross: {"fast", "slow"},
	RuleZScore: {"k"}, RuleVolume: {"k", "window"}, RuleSpread: {"bps"},
	RuleImbalance: {"k", "levels"}, RuleTradeThrough: {"bps"},
}

// checkFields refuses a type-specific field set on a rule of another type:
// it would be ignored, while its author believes it applies.
func (r RuleSpec) checkFields() error {
	for _, f := range []struct {
		name string
		set  bool
	}{{"level", r.Level != 0}, {"percent", r.Percent != 0}, {"window", r.Window != 0}, {"fast", r.Fast != 0},
		{"slow", r.Slow != 0}, {"k", r.K != 0}, {"bps", r.Bps != 0}, {"levels", r.Levels != 0}} {
		if f.set && !slices.Contains(ruleFields[r.Type], f.name) {
			return fmt.Errorf("%s does not apply to a %v rule (it reads %s)", f.name, r.Type, strings.Join(ruleFields[r.Type], ", "))
		}
	}
	return nil
}

// checkRearm refuses a Hysteresis the rule's value can never fall back by:
// after its first signal in that direction the rule would never fire in it
// again. The up side re-arms at the upper threshold − Hysteresis, below
// which most values have a floor (a price is > 0, a move or a cross of
// positive prices > −100%, a spread ≥ 0 but on a crossed book, a trade
// inside the touch 0 through it); an imbalance also has a ceiling, 1.
func (r RuleSpec) checkRearm() error {
	d, h := r.dir(), r.Hysteresis
	up, down := d == DirUp || d == DirBoth, d == DirDown || d == DirBoth
	switch {
	case r.Type == RulePrice && up:
		if hp, _ := tick.PriceFromFloat(h); hp >= r.Level {
			return fmt.Errorf("hysteresis %v must be below level %v: up re-arms at a price ≤ level − hysteresis, and prices are > 0", decimal(h), r.Level)
		}
	case r.Type == RuleMove && up && h >= r.Percent+100:
		return fmt.Errorf("hysteresis %v must be below percent + 100: up re-arms at a move ≤ percent − hysteresis, and a move is > −100", decimal(h))
	case r.Type == RuleCross && up && h >= 100:
		return fmt.Errorf("hysteresis %v must be below 100: up re-arms at fast ≤ slow by hysteresis percent, and EMAs of prices are > 0", decimal(h))
	case r.Type == RuleSpread && up && h >= r.Bps:
		return fmt.Errorf("hysteresis %v must be below bps %v: up re-arms at a spread ≤ bps − hysteresis, and a spread is ≥ 0 but on a crossed book", decimal(h), decimal(r.Bps))
	case r.Type == RuleTradeThrough && h > r.Bps:
		return fmt.Errorf("hysteresis %v must be ≤ bps %v: re-arming needs a trade within bps − hysteresis of the touch, and one inside it is 0", decimal(h), decimal(r.Bps))
	case r.Type == RuleImbalance && (up || down) && h >= 1+r.K:
		return fmt.Errorf("hysteresis %v must be below 1 + k: re-arming needs an imbalance within k − hysteresis, and it lies in [−1, 1]", decimal(h))
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Matches reports whether symbol name is bound to r: it matches one of
// r's Symbols patterns, or r has none. A pattern is path.Match's, but for
// '/', which its * and ? do not match and a symbol may hold (EUR/USD):
// it is swapped for a byte no symbol holds in both, so EUR* binds EUR/USD.
// (Called once per symbol and rule, when the symbol is first seen.)
func (r RuleSpec) Matches(name string) bool {
	if len(r.Symbols) == 0 {
		return true
	}
	name = strings.ReplaceAll(name, "/", "\x00")
	for _, p := range r.Symbols {
		if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), name); ok {
			return true
		}
	}
	return false
}

// Info describes r for the publisher (bus.RuleInfo): its type name, its
// parameters as name/value text in a stable order, and the names of the
// three values a signal of r carries in tick.Signal.Values, in that order.
func (r RuleSpec) Info() (typ string, params [][2]string, valueNames [3]string) {
	f := func(v float64) string { return decimal(v).String() }
	switch r.Type {
	case RulePrice:
		params = append(params, [2]string{"level", r.Level.String()})
		valueNames = [3]string{"price", "level", "prev_price"}
	case RuleMove:
		params = append(params, [2]string{"percent", f(r.Percent)}, [2]string{"window", r.Window.String()})
		valueNames = [3]string{"move_pct", "ref_price", "price"}
	case RuleCross:
		params = append(params, [2]string{"fast", r.Fast.String()}, [2]string{"slow", r.Slow.String()})
		valueNames = [3]string{"fast", "slow", "diff_pct"}
	case RuleZScore:
		params = append(params, [2]string{"k", f(r.K)})
		valueNames = [3]string{"z", "mean", "stddev"}
	case RuleVolume:
		params = append(params, [2]string{"k", f(r.K)}, [2]string{"window", r.Window.String()})
		valueNames = [3]string{"qty", "avg_qty", "ratio"}
	case RuleSpread:
		params = append(params, [2]string{"bps", f(r.Bps)})
		valueNames = [3]string{"spread_bps", "bid", "ask"}
	case RuleImbalance:
		params = append(params, [2]string{"k", f(r.K)}, [2]string{"levels", strconv.Itoa(r.levels())})
		valueNames = [3]string{"imbalance", "bid", "ask"}
	case RuleTradeThrough:
		params = append(params, [2]string{"bps", f(r.Bps)})
		valueNames = [3]string{"through_bps", "bid", "ask"}
	}
	syms := "*"
	if len(r.Symbols) > 0 {
		syms = strings.Join(r.Symbols, ",")
	}
	params = append(params,
		[2]string{"dir", r.dir().String()},
		[2]string{"hysteresis", f(r.Hysteresis)},
		[2]string{"cooldown", r.Cooldown.String()},
		[2]string{"symbols", syms})
	return r.Type.String(), params, valueNames
}

// DefaultRules returns a demo rule set bound to every symbol, tuned so that
// a random walk over a few dozen symbols with prices around 100 yields a few
// signals per second in all, not a flood: every rule has hysteresis and a
// cooldown of tens of seconds. It uses windows of 60 s (a multiple of the
// default WindowBuckets).
func DefaultRules() []RuleSpec {
	return []RuleSpec{
		{ID: "level_100", Type: RulePrice, Level: 100 * tick.PriceScale, Hysteresis: 0.5, Cooldown: 30 * time.Second},
		{ID: "move_1pct", Type: RuleMove, Percent: 1, Window: time.Minute, Hysteresis: 0.5, Cooldown: 30 * time.Second},
		{ID: "ma_cross", Type: RuleCross, Fast: 2 * time.Second, Slow: 20 * time.Second, Hysteresis: 0.05, Cooldown: 30 * time.Second},
		{ID: "zscore_3", Type: RuleZScore, K: 3, Hysteresis: 1, Cooldown: 20 * time.Second},
		{ID: "volume_spike", Type: RuleVolume, K: 5, Window: time.Minute, Hysteresis: 2, Cooldown: 20 * time.Second},
	}
}

// DefaultBookRules returns demo rules on the L3 book, for ITCH feeds,
// bound to every symbol: a spread wider than 50 bps, a 70/30 share
// imbalance over the best 5 levels, and a trade printed through the touch.
// Each has a cooldown so a busy book yields a few signals, not a flood.
func DefaultBookRules() []RuleSpec {
	return []RuleSpec{
		{ID: "spread_50bps", Type: RuleSpread, Bps: 50, Hysteresis: 10, Cooldown: 30 * time.Second},
		{ID: "imbalance_70", Type: RuleImbalance, K: 0.4, Levels: DefaultImbalanceLevels, Hysteresis: 0.2, Cooldown: 30 * time.Second},
		{ID: "trade_through", Type: RuleTradeThrough, Bps: 0, Cooldown: 10 * time.Second},
	}
}
