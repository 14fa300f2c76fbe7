package stats

import (
	"math"

	"github.com/tickd/tickd/tick"
)

// Window summarises the trades of an event-time window W, kept in B buckets
// of width w = W/B aligned to the epoch: bucket k holds trades with
// k·w ≤ t < (k+1)·w. With now the latest event time added and
// K = ⌊now/w⌋, the window is buckets K−B+1 … K, that is every trade with
//
//	(K−B+1)·w ≤ t ≤ now
//
// so it spans between W−w and W of event time (the current bucket is
// partial). A trade exactly on a bucket boundary opens the later bucket, so
// a trade at (K−B+1)·w is still in and one a nanosecond earlier has left.
//
//	Count = Σn   Volume = Σq   Mean = Σp/Σn   VWAP = Σ(p·q)/Σq
//	First = open of the oldest non-empty bucket (the window's reference price)
//	Min, Max = extremes over the buckets
//
// Each bucket sums only by addition. When the current bucket changes (at
// most once per w of event time) the totals and extremes of the completed
// buckets are recomputed in O(B), so the float sums never drift, evicted
// buckets leave exactly, and a gap longer than W leaves an empty window
// behind it. Per tick the cost is O(1); memory is B·64 bytes whatever the
// tick rate.
//
// The zero value is empty and Add panics on it: call Init first.
type Window struct {
	w        int64    // bucket width, ns
	b        []bucket // ring of B buckets; bucket k lives in b[k mod B]
	cur      *bucket  // bucket of the latest trade; nil when empty
	curStart int64    // cur covers [curStart, curEnd)
	curEnd   int64
	done     bucket // totals over the completed buckets still in the window
}

// bucket is one sub-interval's sums: 64 bytes, one cache line.
type bucket struct {
	k      int64   // absolute bucket index ⌊t/w⌋
	n      int64   // trades
	qty    int64   // Σq
	px     float64 // Σp
	pq     float64 // Σp·q
	open   tick.Price
	lo, hi tick.Price
}

// Init sizes w for a window of length span split into buckets (span must be
// a positive multiple of buckets) and empties it.
func (w *Window) Init(span int64, buckets int) {
	if buckets < 1 || span <= 0 || span%int64(buckets) != 0 {
		panic("stats: Window span must be a positive multiple of the bucket count")
	}
	*w = Window{w: span / int64(buckets), b: make([]bucket, buckets)}
}

// Span returns W.
func (w *Window) Span() int64 { return w.w * int64(len(w.b)) }

// Add records a trade of q at price p (px = p.Float64()) at event time t.
// A t before the current bucket is counted in the current bucket.
func (w *Window) Add(t int64, p tick.Price, px float64, q int64) {
	if w.cur == nil || t >= w.curEnd {
		w.roll(floorDiv(t, w.w))
	}
	c := w.cur
	if c.n == 0 {
		c.open, c.lo, c.hi = p, p, p
	} else if p < c.lo {
		c.lo = p
	} else if p > c.hi {
		c.hi = p
	}
	c.n++
	c.qty += q
	c.px += px
	c.pq += px * float64(q)
}

// roll makes bucket k current and recomputes the completed buckets' totals.
func (w *Window) roll(k int64) {
	B := int64(len(w.b))
	slot := k % B
	if slot < 0 {
		slot += B
	}
	w.cur = &w.b[slot]
	*w.cur = bucket{k: k}
	w.curStart = k * w.w
	w.curEnd = w.curStart + w.w
	d := bucket{}
	first := int64(math.MaxInt64)
	for i := range w.b {
		x := &w.b[i]
		if x.n == 0 || x.k <= k-B || x.k >= k {
			continue
		}
		if d.n == 0 || x.lo < d.lo {
			d.lo = x.lo
		}
		if d.n == 0 || x.hi > d.hi {
			d.hi = x.hi
		}
		if x.k < first {
			first, d.open = x.k, x.open
		}
		d.n += x.n
		d.qty += x.qty
		d.px += x.px
		d.pq += x.pq
	}
	w.done = d
}

// Count returns the number of trades in the window.
func (w *Window) Count() int64 {
	if w.cur == nil {
		return 0
	}
	return w.done.n + w.cur.n
}

// Volume returns Σq over the window.
func (w *Window) Volume() int64 {
	if w.cur == nil {
		return 0
	}
	return w.done.qty + w.cur.qty
}

// Mean returns the mean trade price, 0 when the window is empty.
func (w *Window) Mean() float64 {
	n := w.Count()
	if n == 0 {
		return 0
	}
	return (w.done.px + w.cur.px) / float64(n)
}

// VWAP returns Σ(p·q)/Σq over the window, 0 when the volume is 0.
func (w *Window) VWAP() float64 {
	v := w.Volume()
	if v == 0 {
		return 0
	}
	return (w.done.pq + w.cur.pq) / float64(v)
}

// First returns the first price in the window, 0 when it is empty.
func (w *Window) First() tick.Price {
	if w.cur == nil {
		return 0
	}
	if w.done.n > 0 {
		return w.done.open
	}
	return w.cur.open
}

// Min returns the lowest price in the window, 0 when it is empty.
func (w *Window) Min() tick.Price {
	lo, _ := w.minMax()
	return lo
}

// Max returns the highest price in the window, 0 when it is empty.
func (w *Window) Max() tick.Price {
	_, hi := w.minMax()
	return hi
}

func (w *Window) minMax() (lo, hi tick.Price) {
	if w.Count() == 0 {
		return 0, 0
	}
	lo, hi = w.done.lo, w.done.hi
	if w.done.n == 0 || w.cur.lo < lo {
		lo = w.cur.lo
	}
	if w.done.n == 0 || w.cur.hi > hi {
		hi = w.cur.hi
	}
	return lo, hi
}
