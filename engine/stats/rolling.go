package stats

import "math"

// Rolling keeps the last N samples with their mean (the simple moving
// average) and sum of squared deviations S, updated in O(1) per sample:
//
//	while n < N (Welford):  n++; δ = x − m; m += δ/n; S += δ·(x − m)
//	once full, x replaces the oldest sample y:
//	                        m' = m + (x − y)/N; S' = S + (x − y)·(x − m' + y − m)
//	SMA = m   Var = S/(n−1) (sample variance, 0 while n < 2)
//	StdDev = √Var   ZScore = (x_last − m)/StdDev (0 when StdDev is 0)
//
// Both updates work on deviations from the mean, so no Σx² − (Σx)²/n
// cancellation arises. Replacement still accumulates rounding error, so a
// second accumulator (the "lap") sums the samples written since the ring
// last wrapped, shifted by the lap's first sample K: L1 = Σ(x−K),
// L2 = Σ(x−K)². At each wrap the lap holds exactly the N samples of the
// window and replaces the running pair: m = K + L1/N, S = L2 − L1²/N. Drift
// is thus bounded by 2N updates; every update stays O(1) and, once the
// window is full, divides by nothing (1/N and 1/(N−1) are kept).
//
// Between wraps that drift would leave a window of one repeated price
// (a quiet symbol) a variance of rounding noise, not 0: the length of the
// latest run of equal samples is kept, and a run covering the window
// makes the mean that price and the variance exactly 0.
//
// The zero value holds no samples and Add panics on it: call Init first.
type Rolling struct {
	buf   []float64 // the window, a ring; len(buf) == N
	next  int       // slot the next sample goes to
	n     int       // samples held, ≤ N
	mean  float64
	m2    float64 // S
	invN  float64 // 1/N
	invN1 float64 // 1/(N−1), 0 when N = 1
	lapK  float64 // the lap's shift: its first sample
	lap1  float64 // L1
	lap2  float64 // L2
	last  float64 // the latest sample, 0 when empty
	run   int     // the latest samples equal to last, in a row
}

// Init sizes r for the last n samples (n ≥ 1) and empties it.
func (r *Rolling) Init(n int) {
	if n < 1 {
		panic("stats: Rolling size must be ≥ 1")
	}
	*r = Rolling{buf: make([]float64, n), invN: 1 / float64(n)}
	if n > 1 {
		r.invN1 = 1 / float64(n-1)
	}
}

// Add records sample x, dropping the oldest once N are held.
func (r *Rolling) Add(x float64) {
	size := len(r.buf)
	// run restarts at 1 on a new price and grows on a repeat, without a
	// branch on the data (r.run is 0 while empty, so the zero last cannot
	// count as a repeat).
	eq := 0
	if x == r.last {
		eq = 1
	}
	r.run = 1 + r.run*eq
	r.last = x
	if r.n < size {
		r.n++
		d := x - r.mean
		r.mean += d / float64(r.n)
		r.m2 += d * (x - r.mean)
	} else {
		y := r.buf[r.next]
		d := x - y
		m := r.mean + d*r.invN
		r.m2 += d * (x - m + y - r.mean)
		r.mean = m
	}
	r.buf[r.next] = x

	if r.next == 0 {
		r.lapK, r.lap1, r.lap2 = x, 0, 0
	} else {
		d := x - r.lapK
		r.lap1 += d
		r.lap2 += d * d
	}
	r.next++
	if r.next == size {
		r.next = 0
		// The lap covered slots 0..N−1 since the last wrap: exactly the window.
		r.mean = r.lapK + r.lap1*r.invN
		r.m2 = r.lap2 - r.lap1*r.lap1*r.invN
	}
}

// Len returns how many samples are held (≤ Cap).
func (r *Rolling) Len() int { return r.n }

// Cap returns N, the window size.
func (r *Rolling) Cap() int { return len(r.buf) }

// Full reports whether N samples are held.
func (r *Rolling) Full() bool { return r.n == len(r.buf) && r.n > 0 }

// Mean returns the simple moving average, 0 when empty.
func (r *Rolling) Mean() float64 {
	if r.flat() {
		return r.Last()
	}
	return r.mean
}

// flat reports whether the window holds one price only (n ≥ 1).
func (r *Rolling) flat() bool { return r.n > 0 && r.run >= r.n }

// Last returns the most recent sample, 0 when empty.
func (r *Rolling) Last() float64 { return r.last }

// Var returns the sample variance S/(n−1), 0 while fewer than 2 samples.
func (r *Rolling) Var() float64 {
	if r.n < 2 || r.m2 <= 0 || r.flat() { // rounding can leave S a hair off 0
		return 0
	}
	if r.n == len(r.buf) {
		return r.m2 * r.invN1
	}
	return r.m2 / float64(r.n-1)
}

// StdDev returns √Var.
func (r *Rolling) StdDev() float64 { return math.Sqrt(r.Var()) }

// ZScore returns (Last − Mean)/StdDev, 0 when StdDev is 0.
func (r *Rolling) ZScore() float64 {
	sd := r.StdDev()
	if sd == 0 {
		return 0
	}
	return (r.Last() - r.Mean()) / sd
}
