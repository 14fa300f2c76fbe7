package stats

import (
	"math"
	"time"
)

// Decay is ln 2 / H for a half-life H, in 1/ns: the per-ns decay rate an EMA
// uses. Compute it once with HalfLife, not per tick.
type Decay float64

// HalfLife returns the Decay for half-life h (h > 0).
func HalfLife(h time.Duration) Decay { return Decay(math.Ln2 / float64(h)) }

// EMA is an exponential moving average in event time, by half-life H:
//
//	first sample:  v = x
//	later samples: α = 1 − 2^(−Δt/H) = −expm1(−Δt·ln2/H);  v += α·(x − v)
//
// where Δt is the event time since the previous sample. The weight a sample
// gets grows with the gap it ends, so irregular ticks are handled: after a
// silence of one half-life the new price weighs ½, and a sample at the same
// instant as the previous one weighs nothing (Δt < 0 counts as 0). α is
// computed with expm1 so that tiny gaps keep their precision.
//
// The zero value holds no sample.
type EMA struct {
	v  float64
	t  int64 // event time of the last sample
	ok bool  // a sample has been seen
}

// Add records sample x at event time t with decay rate d (see HalfLife).
func (e *EMA) Add(t int64, x float64, d Decay) {
	if !e.ok {
		e.v, e.t, e.ok = x, t, true
		return
	}
	dt := t - e.t
	if dt <= 0 {
		return // same instant (or earlier): α = 0
	}
	e.t = t
	a := -math.Expm1(-float64(dt) * float64(d))
	e.v += a * (x - e.v)
}

// Value returns the average, 0 before the first sample.
func (e *EMA) Value() float64 { return e.v }

// OK reports whether a sample has been seen.
func (e *EMA) OK() bool { return e.ok }
