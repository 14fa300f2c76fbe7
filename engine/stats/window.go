package stats

import "github.com/tickd/tickd/tick"

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
// The totals of the completed buckets still in the window are kept exactly,
// as integers (Σp and Σp·q in 128 bits), so a bucket that leaves is
// subtracted without any drift. A trade updates only its bucket. Moving to
// a new bucket adds the finished one to the totals, subtracts the ones that
// left (one, unless trades skipped buckets; none to scan after a gap of W or
// more, which empties the window) and moves First forward, which amortises
// to O(1). So per tick the cost is O(1), and memory is B buckets whatever
// the tick rate.
//
// The zero value is empty and Add panics on it: call Init first.
type Window struct {
	w       int64    // bucket width, ns
	b       []bucket // ring of B buckets; bucket k lives in b[k mod B]
	cur     *bucket  // bucket of the latest trade; nil before the first
	curK    int64    // its index
	curSlot int64    // its slot: curK mod B
	curEnd  int64    // (curK+1)·w
	done    sums     // totals over the window's other buckets
	firstK  int64    // index of the oldest non-empty bucket in the window
	first   tick.Price
}

// bucket is one sub-interval's exact sums and prices.
type bucket struct {
	k int64 // absolute bucket index ⌊t/w⌋
	sums
	open   tick.Price
	lo, hi tick.Price
}

// sums are exact totals over trades.
type sums struct {
	n   int64 // trades
	qty int64 // Σq
	px  int128
	pq  int128
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

// Add records a trade of q (≥ 0) at price p at event time t. A t before the
// current bucket is counted in the current bucket.
func (w *Window) Add(t int64, p tick.Price, q int64) {
	if w.cur == nil || t >= w.curEnd {
		w.roll(floorDiv(t, w.w))
	}
	c := w.cur
	if c.n == 0 {
		c.open, c.lo, c.hi = p, p, p
		if w.firstK == w.curK {
			w.first = p
		}
	}
	c.lo, c.hi = min(c.lo, p), max(c.hi, p) // branch-free: new extremes are data-dependent
	c.n++
	c.qty += q
	c.px.add(int128Of(int64(p)))
	c.pq.add(mulInt128(int64(p), q))
}

// roll makes bucket k (> curK) current: buckets k−B and older leave.
func (w *Window) roll(k int64) {
	B := int64(len(w.b))
	oldest := k - B + 1 // oldest bucket still in the window
	if w.cur == nil || k-w.curK >= B {
		w.done = sums{} // everything left
		w.curSlot = k % B
		if w.curSlot < 0 {
			w.curSlot += B
		}
	} else {
		w.done.plus(&w.cur.sums)
		// Buckets curK−B+1 … oldest−1 leave; they sit in the slots after
		// curSlot, the last of which becomes k's.
		s := w.curSlot
		for i := w.curK - B + 1; i < oldest; i++ {
			if s++; s == B {
				s = 0
			}
			if x := &w.b[s]; x.k == i && x.n > 0 {
				w.done.minus(&x.sums)
			}
		}
		w.curSlot = s
	}
	w.cur, w.curK, w.curEnd = &w.b[w.curSlot], k, (k+1)*w.w
	*w.cur = bucket{k: k}
	if w.firstK < oldest || w.done.n == 0 {
		// First left: the next non-empty bucket, or the new current one
		// (Add sets first then). The buckets scanned here are never scanned
		// again, so this amortises to O(1).
		w.firstK = k
		s := w.curSlot
		for i := oldest; i < k; i++ {
			if s++; s == B {
				s = 0
			}
			if x := &w.b[s]; x.k == i && x.n > 0 {
				w.firstK, w.first = i, x.open
				break
			}
		}
	}
}

func (b *sums) plus(x *sums) {
	b.n += x.n
	b.qty += x.qty
	b.px.add(x.px)
	b.pq.add(x.pq)
}

func (b *sums) minus(x *sums) {
	b.n -= x.n
	b.qty -= x.qty
	b.px.sub(x.px)
	b.pq.sub(x.pq)
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

// Mean returns the mean trade price in currency units, 0 when the window is
// empty.
func (w *Window) Mean() float64 {
	n := w.Count()
	if n == 0 {
		return 0
	}
	s := w.done.px
	s.add(w.cur.px)
	return s.float64() / float64(n) / tick.PriceScale
}

// VWAP returns Σ(p·q)/Σq over the window in currency units, 0 when the
// volume is 0.
func (w *Window) VWAP() float64 {
	v := w.Volume()
	if v == 0 {
		return 0
	}
	s := w.done.pq
	s.add(w.cur.pq)
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
	seen := false
	for i := range w.b {
		x := &w.b[i]
		if x.n == 0 || x.k <= w.curK-int64(len(w.b)) || w.cur == nil {
			continue
		}
		if !seen || x.lo < lo {
			lo = x.lo
		}
		if !seen || x.hi > hi {
			hi = x.hi
		}
		seen = true
	}
	return lo, hi
}
