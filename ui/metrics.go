package ui

import (
	"math"
	"slices"
	"time"
)

// latencies keeps the last samples of one latency, in ns, and their
// percentiles, recomputed at most every percentileEvery (a sort of a few
// thousand numbers, shared by every stream).
type latencies struct {
	samples ring[int64]
	at      int64  // when pct was computed, ns
	atN     uint64 // samples.next then
	pct     percentiles
	scratch []int64
}

const percentileEvery = int64(500 * time.Millisecond)

// percentiles of a latency, in ns; N is how many samples they are over.
type percentiles struct {
	N                   int
	P50, P99, P999, Max int64
}

func (l *latencies) add(ns int64) {
	if ns < 0 { // clocks of two hosts (external NATS) may disagree
		ns = 0
	}
	l.samples.push(ns)
}

func (l *latencies) percentiles(now int64) percentiles {
	if l.atN == l.samples.next || now-l.at < percentileEvery && l.atN != 0 {
		return l.pct
	}
	l.at, l.atN = now, l.samples.next
	l.scratch = append(l.scratch[:0], l.samples.buf...)
	slices.Sort(l.scratch)
	l.pct = percentiles{N: len(l.scratch), P50: rank(l.scratch, 0.50), P99: rank(l.scratch, 0.99),
		P999: rank(l.scratch, 0.999), Max: l.scratch[len(l.scratch)-1]}
	return l.pct
}

// rank is the nearest-rank percentile q of sorted (not empty): the
// smallest sample with at least q of the samples at or below it.
func rank(sorted []int64, q float64) int64 {
	k := int(float64(len(sorted))*q+0.999999999) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// rateMeter turns running totals into per-second rates over the last
// couple of seconds, from samples taken at most every rateEvery.
type rateMeter struct {
	samples ring[rateSample]
}

const (
	rateEvery  = int64(250 * time.Millisecond)
	rateWindow = int64(2 * time.Second)
	// rateSettle is how long after the totals stop moving the rates take
	// to reach 0: the window, and a sample either side of it.
	rateSettle = rateWindow + 2*rateEvery
)

// rateSample holds totals at time t: ticks in, signals out, messages received.
type rateSample struct {
	t int64
	c [3]uint64
}

func (r *rateMeter) rates(now int64, c [3]uint64) (out [3]float64) {
	if r.samples.max == 0 {
		r.samples = newRing[rateSample](int(rateWindow/rateEvery) + 4)
	}
	if l := r.samples.last(); l == nil || now-l.t >= rateEvery {
		r.samples.push(rateSample{now, c})
	}
	newest := *r.samples.last()
	// The oldest sample within the window; or, when nobody asked for a
	// while (the feed stopped, and the streams with it), the one before
	// newest, however old: the totals' change over that gap is the rate.
	var oldest, before *rateSample
	r.samples.since(0, func(s *rateSample) {
		if oldest == nil && newest.t-s.t <= rateWindow+rateEvery {
			oldest = s
		}
		if s.t < newest.t {
			before = s
		}
	})
	if oldest.t == newest.t && before != nil {
		oldest = before
	}
	dt := float64(newest.t-oldest.t) / 1e9
	if dt <= 0 { // one sample so far: no rate yet (null, not a false 0)
		return [3]float64{math.NaN(), math.NaN(), math.NaN()}
	}
	for i := range out {
		out[i] = float64(newest.c[i]-oldest.c[i]) / dt
	}
	return out
}
