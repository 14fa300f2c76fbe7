package engine

import (
	"cmp"
	"math"
	"slices"
	"unsafe"

	"github.com/tickd/tickd/tick"
)

// rule is a validated RuleSpec compiled for evaluation: thresholds in the
// unit of its value v, and the index of the window it reads. The plan
// holds one per RuleSpec, shared by every symbol the rule is bound to.
type rule struct {
	typ   RuleType
	index uint16 // in Engine.Rules, for tick.Signal.Rule
	// th holds the thresholds v is compared with, by a state's armed bits
	// (ruleState.st & armed): up, hi when armed (v > it crosses), else
	// hi − Hysteresis (v ≤ it re-arms); down, lo when armed (v < it
	// crosses), else lo + Hysteresis (v ≥ it re-arms). A side whose
	// crossings do not fire (Dir) has ±Inf: it never crosses, and stays
	// armed.
	th       [4]thresholds
	cooldown int64 // ns
	level    tick.Price
	levels   int // imbalance: book levels per side
	win      int // move, volume_spike: index in symbol.wins
	fast     int // ma_cross: indexes in symbol.emas
	slow     int
	warm     int64 // ma_cross: event time (ns) after the symbol's first trade before it evaluates
}

// thresholds are a rule's upper and lower thresholds in one state.
type thresholds struct{ up, dn float64 }

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
	c := rule{
		typ:      r.Type,
		cooldown: int64(r.Cooldown),
		index:    uint16(index),
		win:      win,
		fast:     fast,
		slow:     slow,
		level:    r.Level,
		levels:   r.levels(),
	}
	if r.Type == RuleCross {
		// Both EMAs start at the first price, so until the slow one has
		// moved, fast − slow is ~0 and any tick would cross it.
		c.warm = int64(r.Slow)
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
	d := r.dir()
	for st := range c.th {
		t := &c.th[st]
		switch {
		case d != DirUp && d != DirBoth:
			t.up = math.Inf(1)
		case st&stUp != 0:
			t.up = hi
		default:
			t.up = hi - hyst
		}
		switch {
		case d != DirDown && d != DirBoth:
			t.dn = math.Inf(-1)
		case st&stDn != 0:
			t.dn = lo
		default:
			t.dn = lo + hyst
		}
	}
	return c
}

// ruleState is one rule's state for one symbol (created when the symbol is
// first seen), 24 B: a symbol's rules are one compact array. A side is
// armed when the value has been on the quiet side of its threshold since
// its last crossing, so its next crossing may fire.
type ruleState struct {
	r     *rule
	quiet int64 // a crossing before this event time is swallowed: the last signal's + the cooldown
	st    uint8 // armed bits (stUp | stDn), and the same bits << 2 once v has been evaluated
}

// ruleState.st's armed bits; shifted left by 2, the sides that may fire.
const (
	stUp  = 1 // the up side is armed
	stDn  = 2 // the down side is armed
	armed = stUp | stDn
)

// newRuleState returns the state of r for a symbol that has not traded:
// armed, so its first value is compared with the crossing thresholds, but
// with no side that may fire (a condition already true then is not news).
func newRuleState(r *rule) ruleState {
	return ruleState{r: r, quiet: math.MinInt64, st: armed}
}

// step runs the crossing logic of RuleSpec on the rule's value
// v = x/scale (scale > 0) at event time t, and returns the crossings that
// fire: stUp, stDn, or (mostly) 0. A crossing of an armed side fires
// unless within the cooldown (and disarms either way); a disarmed side
// re-arms once v is back past its threshold by the hysteresis; the first
// evaluation only records the sides.
//
// Each side has one event to watch for, given its state: armed, the
// crossing (v > hi; down: v < lo); disarmed, the re-arm (v ≤ hi −
// Hysteresis; down: v ≥ lo + Hysteresis). The two cannot happen on one
// evaluation, as hi − Hysteresis ≤ hi. So a side costs one product and
// one comparison, against the threshold its state selects (× scale, to
// spare a division), and its new state is simply "not crossed": armed, v
// did not cross; disarmed, v re-armed. The comparisons flip with the
// data, and branches on them would mispredict (and wait for the divisions
// and square root behind scale): they are turned into 0/1 bits and
// combined with bit operations. (x and the thresholds × scale are never
// NaN: prices are finite and scale > 0, so "not v > T" is "v ≤ T".) The
// cooldown is checked here, on every evaluation, not once a crossing is
// found: a level hovered around crosses far more often than it may fire,
// and a branch on each crossing mispredicts (BenchmarkTrade/symbols=50:
// 48 ns against 44), where being within a cooldown changes seldom and its
// branch predicts well.
//
// It is small enough to inline into the evaluation loops: keep it so
// (go build -gcflags=-m ./engine).
func (s *ruleState) step(x, scale float64, t int64) uint8 {
	th := &s.r.th[s.st&armed]
	crossed := b2u(x > th.up*scale) | b2u(x < th.dn*scale)<<1 // armed: crossed; disarmed: not re-armed
	fires := crossed & (s.st >> 2)
	if t < s.quiet {
		fires = 0
	}
	s.st = (crossed ^ armed) * (1 + 1<<2) // armed where not crossed, and those sides may fire
	return fires
}

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

// b2u returns 1 for true, 0 for false, without a branch on data: a Go bool
// is one byte holding 0 or 1, which the compiler sets with a SETcc. (The
// form with an if compiles to the same SETcc, but it costs the inliner
// several times more, and step must stay inlinable.)
func b2u(b bool) uint8 {
	return *(*uint8)(unsafe.Pointer(&b))
}

// ruleSet is a symbol's rules of one kind (trade or book), as states
// grouped by type in RuleType order and in rule order within a type, so
// that each type is evaluated by its own short loop (see tradeCrossings).
type ruleSet struct {
	states []ruleState
	end    [ruleTypeEnd]uint32 // the states of type t are states[end[t-1]:end[t]]
}

// add appends the state of r (rules must be added in rule order).
func (rs *ruleSet) add(r *rule) {
	at := rs.end[r.typ]
	rs.states = slices.Insert(rs.states, int(at), newRuleState(r))
	for t := r.typ; t < ruleTypeEnd; t++ {
		rs.end[t]++
	}
}

// group returns the range of the states of type t: states[lo:hi]. (The
// loops index states over it rather than slice it: a slice per type cost
// more than the bounds checks.)
func (rs *ruleSet) group(t RuleType) (lo, hi int) {
	return int(rs.end[t-1]), int(rs.end[t])
}

// ruleScratch is where tradeCrossings and bookCrossings list the rules
// that fire, per shard: fired holds their indexes in the set's states, in
// rule order, and by that index crossed holds a rule's crossings and x and
// scale its value (v is x/scale). Its slices are as long as the plan's
// rule count, which bounds any set's. What only a firing rule needs is
// worked out in emitSignals, which is rare.
type ruleScratch struct {
	x, scale []float64
	crossed  []uint8
	fired    []uint16
}

func newRuleScratch(rules int) ruleScratch {
	return ruleScratch{x: make([]float64, rules), scale: make([]float64, rules),
		crossed: make([]uint8, rules), fired: make([]uint16, rules)}
}

// fire records that state i (s) fires crossings c on value x/scale at
// event time t, as the n-th this evaluation, starts its cooldown, and
// returns n+1.
func (rs *ruleScratch) fire(s *ruleState, i int, c uint8, x, scale float64, t int64, n int) int {
	s.quiet = math.MaxInt64 // t + cooldown, saturating (cooldown ≥ 0)
	if cd := s.r.cooldown; t <= math.MaxInt64-cd {
		s.quiet = t + cd
	}
	rs.crossed[i], rs.x[i], rs.scale[i] = c, x, scale
	rs.fired[n] = uint16(i)
	return n + 1
}

// inRuleOrder sorts fired (indexes in states) by the rules' order: the
// groups list them by type first. Several rules rarely fire on one event.
func inRuleOrder(fired []uint16, states []ruleState) {
	slices.SortFunc(fired, func(a, b uint16) int { return cmp.Compare(states[a].r.index, states[b].r.index) })
}

// tradeCrossings evaluates sym's trade rules on the trade just applied
// (event time t, price p = px in currency units, size q; sh.touch holds
// the book before it for trade_through), and returns how many fire,
// listed in sh.rs (see ruleScratch).
//
// Each type has its own loop over its group, computing each rule's value
// as x and scale > 0 (v = x/scale; see ruleState.step) and skipping rules
// still warming up. Values several rules share (the z-score's terms, a
// window's reference price) are computed once. The loops make no call
// (step and fire are inlined), so the compiler keeps them in registers.
func (sh *shard) tradeCrossings(sym *symbol, t int64, p tick.Price, px float64, q int64) (fired int) {
	set := &sym.rules
	states := set.states
	lo, hi := set.group(RulePrice)
	for i := lo; i < hi; i++ { // v = p − Level in Price units: an exact integer difference
		s := &states[i]
		x := float64(p - s.r.level)
		if c := s.step(x, 1, t); c != 0 {
			fired = sh.rs.fire(s, i, c, x, 1, t, fired)
		}
	}
	lo, hi = set.group(RuleMove)
	for i := lo; i < hi; i++ { // v = 100·(p − ref)/|ref|, ref = the window's first price
		s := &states[i]
		win := s.r.win
		m := &sym.refs[win]
		if ref := sym.wins[win].First(); ref != m.ref {
			m.set(ref)
		}
		if m.ref == 0 {
			continue
		}
		x, scale := px-m.px, m.scale
		if c := s.step(x, scale, t); c != 0 {
			fired = sh.rs.fire(s, i, c, x, scale, t, fired)
		}
	}
	lo, hi = set.group(RuleCross)
	for i := lo; i < hi; i++ { // v = 100·(fast − slow)/|slow|
		s := &states[i]
		sl := sym.emas.Value(s.r.slow)
		if sl == 0 || t-sym.emas.Start() < s.r.warm {
			continue
		}
		x, scale := sym.emas.Value(s.r.fast)-sl, math.Abs(sl)/100
		if c := s.step(x, scale, t); c != 0 {
			fired = sh.rs.fire(s, i, c, x, scale, t, fired)
		}
	}
	if lo, hi = set.group(RuleZScore); lo < hi && sym.roll.Full() {
		x, scale := 0.0, 1.0 // v = (p − SMA)/StdDev, 0 when StdDev is 0
		if sd := sym.roll.StdDev(); sd > 0 {
			x, scale = sym.roll.Last()-sym.roll.Mean(), sd
		}
		for i := lo; i < hi; i++ {
			s := &states[i]
			if c := s.step(x, scale, t); c != 0 {
				fired = sh.rs.fire(s, i, c, x, scale, t, fired)
			}
		}
	}
	lo, hi = set.group(RuleVolume)
	for i := lo; i < hi; i++ { // v = q / (before/n): against the n earlier trades in the window
		s := &states[i]
		w := &sym.wins[s.r.win]
		n, before := w.Count()-1, w.Volume()-q
		if n < MinVolumeTrades || before <= 0 {
			continue
		}
		x, scale := float64(q)*float64(n), float64(before)
		if c := s.step(x, scale, t); c != 0 {
			fired = sh.rs.fire(s, i, c, x, scale, t, fired)
		}
	}
	if lo, hi = set.group(RuleTradeThrough); lo < hi && sh.touch.ok {
		// v = 10⁴·(p − the touch it went through)/mid, 0 inside
		tc := &sh.touch
		x, scale := 1e4*float64(max(p-tc.ask, 0)+min(p-tc.bid, 0)), tc.mid()
		for i := lo; i < hi; i++ {
			s := &states[i]
			if c := s.step(x, scale, t); c != 0 {
				fired = sh.rs.fire(s, i, c, x, scale, t, fired)
			}
		}
	}
	if fired > 1 {
		inRuleOrder(sh.rs.fired[:fired], set.states)
	}
	return fired
}

// bookCrossings evaluates sym's book rules on a change of its book at
// event time t (sh.touch holds the book after it, and the change's rank),
// as tradeCrossings does its trade rules. A rule whose levels lie above
// the rank is not evaluated: its value did not change.
func (sh *shard) bookCrossings(sym *symbol, t int64) (fired int) {
	set, tc := &sym.bookRules, &sh.touch
	states := set.states
	if lo, hi := set.group(RuleSpread); lo < hi && tc.rank < states[lo].r.depth() {
		x, scale := 1e4*float64(tc.ask-tc.bid), tc.mid() // v = 10⁴·(ask − bid)/mid
		for i := lo; i < hi; i++ {
			s := &states[i]
			if c := s.step(x, scale, t); c != 0 {
				fired = sh.rs.fire(s, i, c, x, scale, t, fired)
			}
		}
	}
	lo, hi := set.group(RuleImbalance)
	for i := lo; i < hi; i++ {
		s := &states[i]
		if tc.rank >= s.r.depth() {
			continue
		}
		if x, ok := tc.book.Imbalance(s.r.levels); ok {
			if c := s.step(x, 1, t); c != 0 {
				fired = sh.rs.fire(s, i, c, x, 1, t, fired)
			}
		}
	}
	if fired > 1 {
		inRuleOrder(sh.rs.fired[:fired], set.states)
	}
	return fired
}

// emitSignals publishes the n signals tradeCrossings or bookCrossings
// found, of the states sh.rs.fired[:n] names.
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
		dst[0], dst[1], dst[2] = p.Float64(), r.level.Float64(), sym.prevP.Float64()
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
