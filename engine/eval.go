package engine

import (
	"math"

	"github.com/tickd/tickd/tick"
)

// rule is a validated RuleSpec compiled for evaluation: thresholds in the
// unit of its value v, and the index of the window it reads.
type rule struct {
	typ      RuleType
	up, down bool    // which crossings fire
	hi, lo   float64 // fires up when v > hi, down when v < lo
	rearmUp  float64 // hi − Hysteresis: up re-arms when v ≤ it
	rearmDn  float64 // lo + Hysteresis: down re-arms when v ≥ it
	cooldown int64   // ns
	index    uint16  // in Engine.Rules, for tick.Signal.Rule
	win      int     // move, volume_spike: index in symbol.wins
	level    tick.Price
	fast     int // ma_cross: indexes in symbol.emas
	slow     int
}

// compile turns a validated spec into a rule; win is the index of the
// spec's window among the symbol windows, fast and slow those of its EMAs.
func compile(r RuleSpec, index, win, fast, slow int) rule {
	d := r.dir()
	c := rule{
		typ:      r.Type,
		up:       d == DirUp || d == DirBoth,
		down:     d == DirDown || d == DirBoth,
		cooldown: int64(r.Cooldown),
		index:    uint16(index),
		win:      win,
		fast:     fast,
		slow:     slow,
		level:    r.Level,
	}
	hyst := r.Hysteresis
	switch r.Type {
	case RulePrice:
		// v is p − Level in Price units: an exact integer difference.
		h, _ := tick.PriceFromFloat(r.Hysteresis)
		hyst = float64(h)
	case RuleMove:
		c.hi, c.lo = r.Percent, -r.Percent
	case RuleZScore:
		c.hi, c.lo = r.K, -r.K
	case RuleVolume:
		c.hi, c.lo = r.K, math.Inf(-1)
	}
	c.rearmUp, c.rearmDn = c.hi-hyst, c.lo+hyst
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
	fired  bool       // a signal has fired (lastAt is valid)
	lastAt int64      // event time of the last signal
	ref    tick.Price // move: the window's first price, and
	refPx  float64    // it in currency units (it changes once per bucket at most)
}

// evalRules evaluates sym's rules on the trade just applied (event time t,
// price p = px in currency units, size q) and publishes their signals.
//
// Each rule's value is v = x/scale for scale > 0; comparing x with the
// thresholds × scale spares a division per tick. Then, as RuleSpec says: a
// first evaluation only records the side; a crossing of an armed side
// fires unless within the cooldown (and disarms either way); a side
// re-arms once v is back past its threshold by the hysteresis. This loop
// is the hot path, so the crossing logic is written once, inline, here.
func (sh *shard) evalRules(sym *symbol, t, recv int64, p tick.Price, px float64, q int64) {
	for i := range sym.rules {
		s := &sym.rules[i]
		r := s.r
		x, scale := 0.0, 1.0
		switch r.typ {
		case RulePrice: // v = p − Level in Price units: an exact integer difference
			x = float64(p - r.level)
		case RuleMove: // v = 100·(p − ref)/|ref|, ref = the window's first price
			if ref := sym.wins[r.win].First(); ref != s.ref {
				s.ref, s.refPx = ref, ref.Float64()
			}
			if s.ref == 0 {
				continue
			}
			x, scale = px-s.refPx, math.Abs(s.refPx)/100
		case RuleCross: // v = 100·(fast − slow)/|slow|
			sl := sym.emas.Value(r.slow)
			if sl == 0 {
				continue
			}
			x, scale = sym.emas.Value(r.fast)-sl, math.Abs(sl)/100
		case RuleZScore: // v = (p − SMA)/StdDev, 0 when StdDev is 0
			if !sym.roll.Full() {
				continue
			}
			if sd := sym.roll.StdDev(); sd > 0 {
				x, scale = sym.roll.Last()-sym.roll.Mean(), sd
			}
		case RuleVolume: // v = q / (before/n): against the n earlier trades in the window
			w := &sym.wins[r.win]
			n, before := w.Count()-1, w.Volume()-q
			if n < MinVolumeTrades || before <= 0 {
				continue
			}
			x, scale = float64(q)*float64(n), float64(before)
		}

		// Locals and plain assignments let the compiler use conditional
		// moves: these comparisons flip with the data, branches would
		// mispredict.
		above, below := x > r.hi*scale, x < r.lo*scale
		if !s.seen {
			s.seen = true
			s.armUp, s.armDn = !above, !below
			continue
		}
		armUp, armDn := s.armUp, s.armDn
		if x <= r.rearmUp*scale {
			armUp = true
		}
		if x >= r.rearmDn*scale {
			armDn = true
		}
		var dir int8
		if above && armUp {
			armUp = false
			if r.up {
				dir = 1
			}
		} else if below && armDn {
			armDn = false
			if r.down {
				dir = -1
			}
		}
		s.armUp, s.armDn = armUp, armDn
		if dir == 0 || s.fired && t-s.lastAt < r.cooldown {
			continue // no crossing, or one swallowed by the cooldown
		}
		s.fired, s.lastAt = true, t
		o := sh.out.next()
		o.Kind = tick.OutSignal
		o.Signal = tick.Signal{
			TsEvent: t, TsRecv: recv, Symbol: sym.id, Rule: r.index,
			Dir: dir, Price: p, Values: s.values(sym, p, q, x/scale),
		}
		sh.n.signals++
	}
}

// values returns what a signal of s reports (see RuleSpec.Info), given the
// value v that fired it.
func (s *ruleState) values(sym *symbol, p tick.Price, q int64, v float64) [3]float64 {
	switch s.r.typ {
	case RulePrice:
		return [3]float64{p.Float64(), s.r.level.Float64(), sym.prevPx}
	case RuleMove:
		return [3]float64{v, s.refPx, p.Float64()}
	case RuleCross:
		return [3]float64{sym.emas.Value(s.r.fast), sym.emas.Value(s.r.slow), v}
	case RuleZScore:
		return [3]float64{v, sym.roll.Mean(), sym.roll.StdDev()}
	case RuleVolume:
		n := sym.wins[s.r.win].Count() - 1
		return [3]float64{float64(q), float64(sym.wins[s.r.win].Volume()-q) / float64(n), v}
	}
	return [3]float64{}
}
