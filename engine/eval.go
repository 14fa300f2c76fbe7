package engine

import (
	"math"

	"github.com/tickd/tickd/engine/stats"
	"github.com/tickd/tickd/tick"
)

// rule is a validated RuleSpec compiled for evaluation: thresholds in the
// unit of its value v, and the index of the window it reads.
type rule struct {
	typ      RuleType
	up, down bool    // which crossings fire
	hi, lo   float64 // fires up when v > hi, down when v < lo
	hyst     float64 // re-arms up when v ≤ hi − hyst, down when v ≥ lo + hyst
	cooldown int64   // ns
	index    uint16  // in Engine.Rules, for tick.Signal.Rule
	win      int     // move, volume_spike: index in symbol.wins
	level    tick.Price
	fast     stats.Decay // ma_cross
	slow     stats.Decay
	k        float64 // volume_spike: the multiple (hi)
}

// compile turns a validated spec into a rule; win is the index of the
// spec's window among the symbol windows.
func compile(r RuleSpec, index int, win int) rule {
	d := r.dir()
	c := rule{
		typ:      r.Type,
		up:       d == DirUp || d == DirBoth,
		down:     d == DirDown || d == DirBoth,
		hyst:     r.Hysteresis,
		cooldown: int64(r.Cooldown),
		index:    uint16(index),
		win:      win,
		level:    r.Level,
	}
	switch r.Type {
	case RulePrice:
		// v is p − Level in Price units: an exact integer difference.
		h, _ := tick.PriceFromFloat(r.Hysteresis)
		c.hyst = float64(h)
	case RuleMove:
		c.hi, c.lo = r.Percent, -r.Percent
	case RuleCross:
		c.fast, c.slow = stats.HalfLife(r.Fast), stats.HalfLife(r.Slow)
	case RuleZScore:
		c.hi, c.lo = r.K, -r.K
	case RuleVolume:
		c.hi, c.lo, c.k = r.K, math.Inf(-1), r.K
	}
	return c
}

// ruleState is one rule's state for one symbol (created when the symbol is
// first seen). Armed means the value has been on the quiet side of the
// band since the last crossing, so the next crossing may fire.
type ruleState struct {
	r      *rule
	seen   bool // v has been evaluated once
	armUp  bool
	armDn  bool
	fired  bool  // a signal has fired (lastAt is valid)
	lastAt int64 // event time of the last signal
	fast   stats.EMA
	slow   stats.EMA
}

// step feeds value v at event time t and returns +1 or −1 when the rule
// fires, else 0. See RuleSpec for the semantics.
func (s *ruleState) step(v float64, t int64) int8 {
	r := s.r
	above, below := v > r.hi, v < r.lo
	if !s.seen {
		s.seen = true
		s.armUp, s.armDn = !above, !below
		return 0
	}
	if v <= r.hi-r.hyst {
		s.armUp = true
	}
	if v >= r.lo+r.hyst {
		s.armDn = true
	}
	var dir int8
	switch {
	case above && s.armUp:
		s.armUp = false
		if r.up {
			dir = 1
		}
	case below && s.armDn:
		s.armDn = false
		if r.down {
			dir = -1
		}
	}
	if dir == 0 {
		return 0
	}
	if s.fired && t-s.lastAt < r.cooldown {
		return 0 // swallowed: the crossing happened but inside the cooldown
	}
	s.fired, s.lastAt = true, t
	return dir
}

// eval computes the rule's value for the trade just added to sym and steps
// the state; on a signal it fills vals and returns the direction.
func (s *ruleState) eval(sym *symbol, t int64, p tick.Price, px float64, q int64, vals *[3]float64) int8 {
	r := s.r
	var v float64
	switch r.typ {
	case RulePrice:
		v = float64(p - r.level)
		if d := s.step(v, t); d != 0 {
			*vals = [3]float64{px, r.level.Float64(), sym.prevPx}
			return d
		}
	case RuleMove:
		w := &sym.wins[r.win]
		ref := w.First().Float64()
		if ref == 0 {
			return 0
		}
		v = 100 * (px - ref) / ref
		if d := s.step(v, t); d != 0 {
			*vals = [3]float64{v, ref, px}
			return d
		}
	case RuleCross:
		s.fast.Add(t, px, r.fast)
		s.slow.Add(t, px, r.slow)
		f, sl := s.fast.Value(), s.slow.Value()
		if sl == 0 {
			return 0
		}
		v = 100 * (f - sl) / math.Abs(sl)
		if d := s.step(v, t); d != 0 {
			*vals = [3]float64{f, sl, v}
			return d
		}
	case RuleZScore:
		if !sym.roll.Full() {
			return 0
		}
		v = sym.roll.ZScore()
		if d := s.step(v, t); d != 0 {
			*vals = [3]float64{v, sym.roll.Mean(), sym.roll.StdDev()}
			return d
		}
	case RuleVolume:
		w := &sym.wins[r.win]
		n := w.Count() - 1 // the window's trades before this one
		if n < MinVolumeTrades {
			return 0
		}
		avg := float64(w.Volume()-q) / float64(n)
		if avg <= 0 {
			return 0
		}
		v = float64(q) / avg
		if d := s.step(v, t); d != 0 {
			*vals = [3]float64{float64(q), avg, v}
			return d
		}
	}
	return 0
}
