package engine

import (
	"math"

	"github.com/tickd/tickd/tick"
)

// rule is a validated RuleSpec compiled for evaluation: thresholds in the
// unit of its value v, and the index of the window it reads. The plan
// holds one per RuleSpec, shared by every symbol the rule is bound to.
type rule struct {
	typ      RuleType
	dirs     uint8      // the crossings that fire: stUp for up, stDn for down
	index    uint16     // in Engine.Rules, for tick.Signal.Rule
	upT      [2]float64 // by armed up: [0] rearmUp = hi − Hysteresis (v ≤ it re-arms), [1] hi (v > it fires)
	dnT      [2]float64 // by armed down: [0] rearmDn = lo + Hysteresis (v ≥ it re-arms), [1] lo (v < it fires)
	cooldown int64      // ns
	level    tick.Price
	levels   int // imbalance: book levels per side
	win      int // move, volume_spike: index in symbol.wins
	fast     int // ma_cross: indexes in symbol.emas
	slow     int
}

// depth returns how many levels per side a book rule's value reads: the
// touch for a spread, its levels for an imbalance. A book change below
// them (book.Result.Rank ≥ depth) leaves the value, so the rule's state,
// as it was, and the rule is not evaluated.
func (r *rule) depth() int {
	if r.typ == RuleImbalance {
		return r.levels
	}
	return 1
}

// compile turns a validated spec into a rule; win is the index of the
// spec's window among the symbol windows, fast and slow those of its EMAs.
func compile(r RuleSpec, index, win, fast, slow int) rule {
	d := r.dir()
	c := rule{
		typ:      r.Type,
		dirs:     b2u(d == DirUp || d == DirBoth)*stUp | b2u(d == DirDown || d == DirBoth)*stDn,
		cooldown: int64(r.Cooldown),
		index:    uint16(index),
		win:      win,
		fast:     fast,
		slow:     slow,
		level:    r.Level,
		levels:   r.levels(),
	}
	hyst, hi, lo := r.Hysteresis, 0.0, 0.0
	switch r.Type {
	case RulePrice:
		// v is p − Level in Price units: an exact integer difference.
		h, _ := tick.PriceFromFloat(r.Hysteresis)
		hyst = float64(h)
	case RuleMove:
		hi, lo = r.Percent, -r.Percent
	case RuleZScore:
		hi, lo = r.K, -r.K
	case RuleVolume:
		hi, lo = r.K, math.Inf(-1)
	case RuleSpread:
		hi, lo = r.Bps, r.Bps
	case RuleImbalance:
		hi, lo = r.K, -r.K
	case RuleTradeThrough:
		hi, lo = r.Bps, -r.Bps
	}
	c.upT = [2]float64{hi - hyst, hi}
	c.dnT = [2]float64{lo + hyst, lo}
	return c
}

// ruleState is one rule's state for one symbol (created when the symbol is
// first seen), 24 B: a symbol's rules are one compact array. A side is
// armed when the value has been on the quiet side of its threshold since
// its last crossing, so its next crossing may fire.
type ruleState struct {
	r     *rule
	quiet int64    // a crossing before this event time is swallowed: the last signal's + the cooldown
	typ   RuleType // r.typ: the dispatch need not wait for r to load
	st    uint8    // stUp | stDn | stSeen
}

// newRuleState returns the state of r for a symbol that has not traded.
func newRuleState(r *rule) ruleState {
	return ruleState{r: r, typ: r.typ, quiet: math.MinInt64}
}

// ruleState.st bits. stUp and stDn are also rule.dirs' bits.
const (
	stUp   = 1 << iota // the up side is armed
	stDn               // the down side is armed
	stSeen             // v has been evaluated once
)

// moveRef is a symbol's reference price for the move rules on one window
// (the window's First), shared by every move rule on that window. It
// changes once per bucket at most, so its float forms are kept.
type moveRef struct {
	ref   tick.Price
	px    float64 // ref in currency units
	scale float64 // |px|/100: v = 100·(p − ref)/|ref| = (p·1e-9 − px)/scale
}

func (m *moveRef) set(ref tick.Price) {
	m.ref, m.px = ref, ref.Float64()
	m.scale = math.Abs(m.px) / 100
}

// b2u returns 1 for true, 0 for false; the compiler turns it into a SETcc,
// so the crossing logic below runs without branches on data.
func b2u(b bool) uint8 {
	var u uint8
	if b {
		u = 1
	}
	return u
}

// ruleScratch is crossings' working memory, per shard, by index in the
// rule set evaluated (its length is the plan's rule count, which bounds
// any symbol's): the rules' values (x and scale, see crossings; v is
// x/scale) and, for those that fire, the crossing's stUp/stDn bits; fired
// lists the indexes of the rules that fire, in rule order. What only a
// firing rule needs is worked out in emitSignals, which is rare, to keep
// crossings' loop in registers.
type ruleScratch struct {
	x, scale []float64
	crossed  []uint8
	fired    []uint16
}

func newRuleScratch(rules int) ruleScratch {
	return ruleScratch{x: make([]float64, rules), scale: make([]float64, rules),
		crossed: make([]uint8, rules), fired: make([]uint16, rules)}
}

// crossings evaluates rules, sym's trade rules on the trade just applied
// (event time t, price p = px in currency units, size q) or its book rules
// on a book change (p the mid, q 0; sh.touch holds the book context), and
// returns how many fire, listed in sh.rs.fired with their crossings
// (sh.rs.crossed). It makes no call, so the compiler keeps its loops in
// registers; the caller writes the rare signals after it (emitSignals).
//
// Each rule's value is v = x/scale for scale > 0; comparing x with the
// thresholds × scale spares a division per tick. Then, as RuleSpec says: a
// first evaluation only records the side; a crossing of an armed side
// fires unless within the cooldown (and disarms either way); a side
// re-arms once v is back past its threshold by the hysteresis.
//
// It makes two passes over the rules. The first computes each rule's x and
// scale by type (scale −1: not evaluated on this trade, still warming up);
// values several rules share (the z-score's terms, a window's reference
// price) are computed once, and only when a rule needs them. The second
// runs the crossing logic, the same for every type, in a short loop.
//
// Each side of a rule has one event to watch for, given its state: armed,
// the crossing (v > hi; down: v < lo); disarmed, the re-arm
// (v ≤ hi − Hysteresis; down: v ≥ lo + Hysteresis). The two cannot happen
// on one trade, as hi − Hysteresis ≤ hi. So a side costs one product and
// one comparison, against the threshold its state selects, and an event
// flips its bit. The comparisons flip with the data, and branches on them
// would mispredict (and wait for the divisions and square root behind
// scale): they are turned into 0/1 bits and combined with bit operations.
// The only data branch left is whether a rule fires, which is rare. (x and
// the thresholds × scale are never NaN: prices are finite and scale > 0,
// so "not v > T" is "v ≤ T".)
func (sh *shard) crossings(sym *symbol, rules []ruleState, t int64, p tick.Price, px float64, q int64) (fired int) {
	xs, scales := sh.rs.x[:len(rules)], sh.rs.scale[:len(rules)] // the same length as rules: no bounds checks
	zDone, zOK := false, false                                   // z-score terms computed; the SMA window is full
	zx, zs := 0.0, 1.0                                           // p − SMA and StdDev, or 0 and 1 when StdDev is 0
	for i := range rules {
		r := rules[i].r
		x, scale := 0.0, -1.0
		switch rules[i].typ {
		case RulePrice: // v = p − Level in Price units: an exact integer difference
			x, scale = float64(p-r.level), 1
		case RuleMove: // v = 100·(p − ref)/|ref|, ref = the window's first price
			m := &sym.refs[r.win]
			if ref := sym.wins[r.win].First(); ref != m.ref {
				m.set(ref)
			}
			if m.ref != 0 {
				x, scale = px-m.px, m.scale
			}
		case RuleCross: // v = 100·(fast − slow)/|slow|
			if sl := sym.emas.Value(r.slow); sl != 0 {
				x, scale = sym.emas.Value(r.fast)-sl, math.Abs(sl)/100
			}
		case RuleZScore: // v = (p − SMA)/StdDev, 0 when StdDev is 0
			if !zDone {
				zDone, zOK = true, sym.roll.Full()
				if sd := sym.roll.StdDev(); sd > 0 {
					zx, zs = sym.roll.Last()-sym.roll.Mean(), sd
				}
			}
			if zOK {
				x, scale = zx, zs
			}
		case RuleVolume: // v = q / (before/n): against the n earlier trades in the window
			w := &sym.wins[r.win]
			if n, before := w.Count()-1, w.Volume()-q; n >= MinVolumeTrades && before > 0 {
				x, scale = float64(q)*float64(n), float64(before)
			}
		case RuleSpread: // v = 10⁴·(ask − bid)/mid
			if t := &sh.touch; t.ok && t.rank < r.depth() {
				x, scale = 1e4*float64(t.ask-t.bid), t.mid()
			}
		case RuleImbalance:
			if sh.touch.ok && sh.touch.rank < r.depth() {
				if imb, ok := sh.touch.book.Imbalance(r.levels); ok {
					x, scale = imb, 1
				}
			}
		case RuleTradeThrough: // v = 10⁴·(p − the touch it went through)/mid, 0 inside
			if t := &sh.touch; t.ok {
				x, scale = 1e4*float64(max(p-t.ask, 0)+min(p-t.bid, 0)), t.mid()
			}
		}
		xs[i], scales[i] = x, scale
	}

	for i := range rules {
		x, scale := xs[i], scales[i]
		if scale < 0 {
			continue // warming up
		}
		s := &rules[i]
		r, st := s.r, s.st
		if st&stSeen == 0 { // first evaluation: record the sides, fire nothing
			s.st = stSeen | b2u(!(x > r.upT[1]*scale))*stUp | b2u(!(x < r.dnT[1]*scale))*stDn
			continue
		}
		// Events: armed, crossed; disarmed, re-armed.
		ev := (b2u(x > r.upT[st&1]*scale)*stUp | b2u(x < r.dnT[st>>1&1]*scale)*stDn) ^ st ^ (stUp | stDn)
		ev &= stUp | stDn
		c := ev & st & r.dirs // crossings of armed sides that fire
		st ^= ev
		// A crossing inside the cooldown is swallowed (and still disarms).
		// Crossings are far more frequent than signals, so this too is
		// computed, not branched on.
		c &= b2u(t < s.quiet) - 1
		s.st = st
		if c != 0 {
			s.quiet = math.MaxInt64 // t + cooldown, saturating (cooldown ≥ 0)
			if t <= math.MaxInt64-r.cooldown {
				s.quiet = t + r.cooldown
			}
			sh.rs.crossed[i] = c // emitSignals turns it into a direction, and x/scale into v
			sh.rs.fired[fired] = uint16(i)
			fired++
		}
	}
	return fired
}

// emitSignals publishes the n signals crossings found, of the rules
// sh.rs.fired[:n] names.
func (sh *shard) emitSignals(sym *symbol, rules []ruleState, n int, t, recv int64, p tick.Price, q int64) {
	for _, i := range sh.rs.fired[:n] {
		r := rules[i].r
		o := sh.out.next()
		o.Kind = tick.OutSignal
		// Field by field: a composite literal is built in a temporary and
		// copied, and the copy's loads stall on store forwarding.
		sg := &o.Signal
		c := sh.rs.crossed[i]
		sg.TsEvent, sg.TsRecv, sg.Symbol, sg.Rule, sg.Dir, sg.Price = t, recv, sym.id, r.index, int8(c&stUp)-int8(c>>1), p
		sh.values(&sg.Values, sym, r, p, q, sh.rs.x[i]/sh.rs.scale[i])
		sh.n.signals++
	}
}

// values writes to dst what a signal of r on sym reports (see
// RuleSpec.Info), given the value v that fired it: element by element, as
// an array returned by value goes through the stack, and copying it out
// stalls on store forwarding.
func (sh *shard) values(dst *[3]float64, sym *symbol, r *rule, p tick.Price, q int64, v float64) {
	switch r.typ {
	case RulePrice:
		dst[0], dst[1], dst[2] = p.Float64(), r.level.Float64(), sym.prevPx
	case RuleMove:
		dst[0], dst[1], dst[2] = v, sym.refs[r.win].px, p.Float64()
	case RuleCross:
		dst[0], dst[1], dst[2] = sym.emas.Value(r.fast), sym.emas.Value(r.slow), v
	case RuleZScore:
		dst[0], dst[1], dst[2] = v, sym.roll.Mean(), sym.roll.StdDev()
	case RuleVolume:
		n := sym.wins[r.win].Count() - 1
		dst[0], dst[1], dst[2] = float64(q), float64(sym.wins[r.win].Volume()-q)/float64(n), v
	case RuleSpread, RuleImbalance, RuleTradeThrough:
		dst[0], dst[1], dst[2] = v, sh.touch.bid.Float64(), sh.touch.ask.Float64()
	default:
		dst[0], dst[1], dst[2] = 0, 0, 0
	}
}
