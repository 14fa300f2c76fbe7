package engine

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// specState is one rule's state evaluated as RuleSpec words it, with a
// branch per case: the reference ruleState.step and fire are checked
// against.
type specState struct {
	seen, armedUp, armedDn bool
	signaled               bool
	last                   int64 // event time of the last signal
}

// eval returns the direction of the signal v fires at t (0: none).
func (s *specState) eval(hi, lo, hyst float64, up, down bool, cooldown, t int64, v float64) int8 {
	if !s.seen { // the first evaluation only records the sides
		s.seen, s.armedUp, s.armedDn = true, !(v > hi), !(v < lo)
		return 0
	}
	var dir int8
	switch {
	case s.armedUp && v > hi:
		s.armedUp = false
		if up {
			dir = 1
		}
	case !s.armedUp && v <= hi-hyst:
		s.armedUp = true
	}
	switch {
	case s.armedDn && v < lo:
		s.armedDn = false
		if down {
			dir = -1
		}
	case !s.armedDn && v >= lo+hyst:
		s.armedDn = true
	}
	if dir != 0 && s.signaled && t < s.last+cooldown {
		return 0 // within the cooldown: swallowed
	}
	if dir != 0 {
		s.signaled, s.last = true, t
	}
	return dir
}

// TestStepMatchesSpec runs compiled rules of random thresholds,
// hysteresis, directions and cooldowns over random walks of their value
// across the thresholds, and checks that every evaluation fires exactly
// as the spec's branchy reading does. Values and scales are multiples of
// powers of two, so x > T·scale and x/scale > T agree exactly.
func TestStepMatchesSpec(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	dirs := []Direction{DirDefault, DirUp, DirDown, DirBoth}
	var rs ruleScratch = newRuleScratch(1)
	fires := 0
	for round := range 2000 {
		spec := RuleSpec{ID: "r", Dir: dirs[r.IntN(4)], Hysteresis: float64(r.IntN(5)) / 4,
			Cooldown: time.Duration(r.IntN(4)) * time.Second}
		var hi, lo float64
		switch r.IntN(3) {
		case 0: // symmetric: ±K
			spec.Type, spec.K = RuleZScore, 0.5+float64(r.IntN(8))/4
			hi, lo = spec.K, -spec.K
		case 1: // one threshold for both sides
			spec.Type, spec.Bps = RuleSpread, float64(2+r.IntN(7)) // above any Hysteresis here
			hi, lo = spec.Bps, spec.Bps
		case 2: // up only, no lower threshold
			spec.Type, spec.K, spec.Dir, spec.Window = RuleVolume, 1+float64(r.IntN(8))/2, DirDefault, time.Minute
			spec.Hysteresis = min(spec.Hysteresis, spec.K/2)
			hi, lo = spec.K, math.Inf(-1)
		}
		if err := spec.Validate(); err != nil {
			t.Fatal(err)
		}
		d := spec.dir()
		up, down := d == DirUp || d == DirBoth, d == DirDown || d == DirBoth
		rule := compile(spec, 0, -1, -1, -1)
		st := newRuleState(&rule)
		var ref specState
		v, ts := (hi+max(lo, -hi))/2, int64(0)
		for i := range 300 {
			v += float64(r.IntN(9)-4) / 8
			ts += int64(r.IntN(5)) * int64(250*time.Millisecond) // often exactly at a cooldown's end
			scale := math.Ldexp(1, r.IntN(7)-3)
			x := v * scale
			want := ref.eval(hi, lo, spec.Hysteresis, up, down, int64(spec.Cooldown), ts, v)
			var got int8
			if c := st.step(x, scale, ts); c != 0 && rs.fire(&st, 0, c, x, scale, ts, 0) == 1 {
				got = int8(rs.crossed[0]&stUp) - int8(rs.crossed[0]>>1)
				if rs.x[0]/rs.scale[0] != v {
					t.Fatalf("round %d eval %d: fired with v %v, want %v", round, i, rs.x[0]/rs.scale[0], v)
				}
			}
			if got != want {
				t.Fatalf("round %d (%+v) eval %d: v %v at %d: fired %d, the spec says %d", round, spec, i, v, ts, got, want)
			}
			if got != 0 {
				fires++
			}
		}
	}
	if fires < 1000 {
		t.Fatalf("only %d signals: the walks do not exercise the rules", fires)
	}
}
