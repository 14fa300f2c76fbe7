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

// Decays are the decay rates of a set of EMAs (see EMAs), in order, with
// the fastest kept beside them: when a gap is tiny for it, it is tiny for
// every average, and EMAs.Add takes the short path. The zero value holds
// none: Append them.
type Decays struct {
	d   []Decay
	max Decay
}

// Append adds d as the next average's decay.
func (ds *Decays) Append(d Decay) {
	ds.d = append(ds.d, d)
	ds.max = max(ds.max, d)
}

// Len returns the number of decays.
func (ds *Decays) Len() int { return len(ds.d) }

// EMA is an exponential moving average in event time, by half-life H:
//
//	first sample:  v = x
//	later samples: α = 1 − 2^(−Δt/H) = −expm1(−Δt·ln2/H);  v += α·(x − v)
//
// where Δt is the event time since the previous sample. The weight a sample
// gets grows with the gap it ends, so irregular ticks are handled: after a
// silence of one half-life the new price weighs ½, and a sample at the same
// instant as the previous one weighs nothing (Δt < 0 counts as 0). α is
// computed as expm1 (not 1 − exp) so that tiny gaps keep their precision.
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
	e.v += alpha(float64(dt)*float64(d)) * (x - e.v)
}

// alpha returns 1 − e^(−y) = −expm1(−y) for y ≥ 0.
func alpha(y float64) float64 {
	switch {
	case y < alphaTinyMax:
		return alphaTiny(y)
	case y < alphaPolyMax:
		return alphaPoly(y)
	}
	return -math.Expm1(-y)
}

// alphaTinyMax bounds the argument of alphaTiny: a gap under 1/2839 of the
// half-life, as a busy symbol's are (a trade every 64 µs is 1/31250 of a
// 2 s half-life).
const alphaTinyMax = 1.0 / 4096

// alphaTiny is alpha for 0 ≤ y < 1/4096 by its Taylor polynomial to y⁴/4!:
// the first omitted term, y⁵/5!, is under 3e-17 of the result (an eighth
// of an ulp).
func alphaTiny(y float64) float64 {
	return y*(1-y*(1.0/2)) + y*y*y*(1.0/6-y*(1.0/24))
}

// alphaPolyMax bounds the argument of alphaPoly: a gap under 4.5% of the
// half-life, the usual case for ticks.
const alphaPolyMax = 1.0 / 32

// alphaPoly is alpha for 0 ≤ y < 1/32 by its Taylor polynomial,
// y − y²/2! + y³/3! − … − y⁸/8!: the first omitted term, y⁹/9!, is under
// 1e-17 of the result and the sum is within a few ulps. It is small enough
// to inline, so a loop over EMAs makes no call per average.
func alphaPoly(y float64) float64 {
	// Estrin form: a short dependency chain.
	y2 := y * y
	y4 := y2 * y2
	return (y*(1-y*(1.0/2)) + y2*y*(1.0/6-y*(1.0/24))) +
		y4*y*((1.0/120-y*(1.0/720))+y2*(1.0/5040-y*(1.0/40320)))
}

// Value returns the average, 0 before the first sample.
func (e *EMA) Value() float64 { return e.v }

// OK reports whether a sample has been seen.
func (e *EMA) OK() bool { return e.ok }

// EMAs is a set of EMAs (see EMA) of the same samples with different
// half-lives, as a symbol keeps: the gap is computed once per sample and
// the loop makes no call in the usual case (Δt < H/22 for every H).
//
// The zero value holds no averages: call Init.
type EMAs struct {
	v     []float64
	t     int64
	start int64 // event time of the first sample
	ok    bool
}

// Init sets the number of averages and drops every sample.
func (e *EMAs) Init(n int) { *e = EMAs{v: make([]float64, n)} }

// Add records sample x at event time t in every average; ds holds their
// decays (ds.Len() ≥ the number of averages).
func (e *EMAs) Add(t int64, x float64, ds *Decays) {
	if !e.ok {
		for i := range e.v {
			e.v[i] = x
		}
		e.t, e.start, e.ok = t, t, true
		return
	}
	dt := t - e.t
	if dt <= 0 {
		return // same instant (or earlier): α = 0
	}
	e.t = t
	fdt := float64(dt)
	d := ds.d[:len(e.v)]
	if fdt*float64(ds.max) < alphaTinyMax { // a busy symbol's usual gap: one branch for all
		for i, v := range e.v {
			e.v[i] = v + alphaTiny(fdt*float64(d[i]))*(x-v)
		}
		return
	}
	for i, v := range e.v {
		y := fdt * float64(d[i])
		var a float64
		switch {
		case y < alphaTinyMax:
			a = alphaTiny(y)
		case y < alphaPolyMax:
			a = alphaPoly(y)
		default:
			a = -math.Expm1(-y)
		}
		e.v[i] = v + a*(x-v)
	}
}

// Value returns average i, 0 before the first sample.
func (e *EMAs) Value(i int) float64 { return e.v[i] }

// Start returns the event time of the first sample (0 before it).
func (e *EMAs) Start() int64 { return e.start }
