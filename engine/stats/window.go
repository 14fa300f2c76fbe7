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
//	Min, Max = extremes over the buckets (O(B) per call; not used per tick)
//
// The window's sums are differences of running Totals: the totals now less
// the totals just before its first trade (base: the start of the oldest
// non-empty bucket, which each bucket records when it opens). Integers
// throughout (Σp and Σp·q in 128 bits), so nothing drifts. A trade then
// only moves the current bucket's low and high; moving to a new bucket
// files the finished one in the ring and, when the window's first bucket
// has left, finds the next non-empty one (none to scan after a gap of W or
// more, which empties the window). The buckets scanned are never scanned
// again, so this amortises to O(1) per tick, and memory is B buckets
// whatever the tick rate.
//
// A Window keeps its own Totals, which Add feeds; or it follows a Totals
// the caller keeps (Share), and is told of each trade with Observe.
//
// The zero value is empty; Init it before use.
type Window struct {
	// Hot: what a trade and the rules touch (56 B, with base's n and vol).
	curEnd int64      // (curK+1)·w: a trade at or after it rolls (MaxInt64 past the int64 range)
	lo, hi tick.Price // the current bucket's extremes
	first  tick.Price // open of bucket firstK: First
	tot    *Totals    // the running totals; nil: own
	base   Totals     // tot just before the window's first trade

	own    Totals     // the totals when not shared
	curK   int64      // index of the current bucket
	open   tick.Price // its first price
	start  Totals     // tot just before its first trade
	firstK int64      // index of the oldest non-empty bucket in the window
	w      int64      // bucket width, ns
	endK   int64      // MaxInt64/w: the buckets from it on end past the int64 range
	slot   int64      // curK mod B: the current bucket's slot, stale until it rolls
	live   bool       // a trade has been seen (the current bucket is valid)
	b      []bucket   // ring of finished buckets; bucket k lives in b[k mod B]
}

// bucket is a finished sub-interval: where its trades begin in the totals,
// and its prices.
type bucket struct {
	start  Totals // tot just before its first trade
	k      int64  // absolute bucket index ⌊t/w⌋
	open   tick.Price
	lo, hi tick.Price
	used   bool // holds a bucket (every bucket holds at least one trade)
}

// Init sizes w for a window of length span split into buckets (span must be
// a positive multiple of buckets) and empties it; w keeps its own Totals.
func (w *Window) Init(span int64, buckets int) {
	if buckets < 1 || span <= 0 || span%int64(buckets) != 0 {
		panic("stats: Window span must be a positive multiple of the bucket count")
	}
	width := span / int64(buckets)
	*w = Window{curEnd: math.MinInt64, w: width, endK: math.MaxInt64 / width, b: make([]bucket, buckets)}
}

// Share makes w follow tot, which the caller advances: for each trade, call
// Observe, then add the trade to tot. Several Windows and Bars may share one
// Totals. Call it after Init, before the first trade.
func (w *Window) Share(tot *Totals) { w.tot = tot }

// totals returns the Totals w follows.
func (w *Window) totals() *Totals {
	if w.tot != nil {
		return w.tot
	}
	return &w.own
}

// Span returns W.
func (w *Window) Span() int64 { return w.w * int64(len(w.b)) }

// Add records a trade of q (≥ 0) at price p at event time t, in w's own
// Totals (not for a shared Window: see Observe).
func (w *Window) Add(t int64, p tick.Price, q int64) {
	w.Observe(t, p)
	w.own.Add(p, q)
}

// Observe records a trade at price p at event time t, before the caller
// adds it to the shared Totals. A t before the current bucket is counted in
// the current bucket.
func (w *Window) Observe(t int64, p tick.Price) {
	if t >= w.curEnd { // always, before the first trade (Init sets curEnd to −∞)
		w.roll(t, p)
		return
	}
	w.lo, w.hi = min(w.lo, p), max(w.hi, p) // branch-free: new extremes are data-dependent
}

// roll opens the bucket of t (later than the current one) with a trade at
// p: buckets k−B and older leave.
func (w *Window) roll(t int64, p tick.Price) {
	B := int64(len(w.b))
	var k int64
	if w.live && t-w.curEnd < w.w && w.curEnd != math.MaxInt64 {
		k = w.curK + 1 // the next bucket: the usual case, no division
	} else {
		k = floorDiv(t, w.w)
	}
	if w.live && k == w.curK { // t is MaxInt64, in the last bucket (see curEnd)
		w.lo, w.hi = min(w.lo, p), max(w.hi, p)
		return
	}
	oldest := k - B + 1 // oldest bucket still in the window
	tot := w.totals()
	if !w.live || k-w.curK >= B { // everything left: the window starts here
		w.slot = k % B
		if w.slot < 0 {
			w.slot += B
		}
		w.firstK, w.first, w.base = k, p, *tot
	} else {
		x := &w.b[w.slot] // file the finished bucket (field by field: no temporary)
		x.start, x.k, x.open, x.lo, x.hi, x.used = w.start, w.curK, w.open, w.lo, w.hi, true
		if w.slot += k - w.curK; w.slot >= B {
			w.slot -= B
		}
		if w.firstK < oldest {
			// The first bucket left: the next non-empty one, or this new
			// one. The buckets scanned here are never scanned again.
			w.firstK, w.first, w.base = k, p, *tot
			s := w.slot
			for i := oldest; i < k; i++ {
				if s++; s == B {
					s = 0
				}
				if x := &w.b[s]; x.used && x.k == i {
					w.firstK, w.first, w.base = i, x.open, x.start
					break
				}
			}
		}
	}
	w.live = true
	w.curK, w.curEnd = k, math.MaxInt64
	if k < w.endK { // else (k+1)·w overflows: the last bucket
		w.curEnd = (k + 1) * w.w
	}
	w.open, w.lo, w.hi, w.start = p, p, p, *tot
}

// Count returns the number of trades in the window.
func (w *Window) Count() int64 { return w.totals().n - w.base.n }

// Volume returns Σq over the window.
func (w *Window) Volume() int64 { return w.totals().vol - w.base.vol }

// Mean returns the mean trade price in currency units, 0 when the window is
// empty.
func (w *Window) Mean() float64 {
	tot := w.totals()
	n := tot.n - w.base.n
	if n == 0 {
		return 0
	}
	s := tot.px
	s.sub(w.base.px)
	return s.float64() / float64(n) / tick.PriceScale
}

// VWAP returns Σ(p·q)/Σq over the window in currency units, 0 when the
// volume is 0.
func (w *Window) VWAP() float64 {
	tot := w.totals()
	v := tot.vol - w.base.vol
	if v == 0 {
		return 0
	}
	s := tot.pq.s
	s.sub(w.base.pq.s)
	return s.float64() / float64(v) / tick.PriceScale
}

// First returns the first price in the window, 0 when it is empty.
func (w *Window) First() tick.Price {
	if w.Count() == 0 {
		return 0
	}
	return w.first
}

// Min returns the lowest price in the window, 0 when it is empty. O(B).
func (w *Window) Min() tick.Price {
	lo, _ := w.minMax()
	return lo
}

// Max returns the highest price in the window, 0 when it is empty. O(B).
func (w *Window) Max() tick.Price {
	_, hi := w.minMax()
	return hi
}

func (w *Window) minMax() (lo, hi tick.Price) {
	if !w.live {
		return 0, 0
	}
	lo, hi = w.lo, w.hi
	for i := range w.b { // the current bucket's slot holds one that has left
		if x := &w.b[i]; x.used && x.k > w.curK-int64(len(w.b)) {
			lo, hi = min(lo, x.lo), max(hi, x.hi)
		}
	}
	return lo, hi
}
