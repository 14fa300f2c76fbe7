package stats

import (
	"math"

	"github.com/tickd/tickd/tick"
)

// Bars builds OHLCV bars of one interval I over event time. A bar covers
// [Start, Start+I) with Start a multiple of I (aligned to the epoch):
//
//	Open, Close = first and last trade price   High, Low = extremes
//	Start = the interval's start, clamped to MinInt64 for the one that
//	begins before the int64 range (times near 1677-09-21)
//	Volume = Σq   Count = trades   VWAP = Σ(p·q)/Σq exactly (PQSum), rounded
//	half up; Close when Volume is 0 (every trade had q = 0)
//
// The caller closes a bar when the first trade of a later interval arrives
// (Due, then Flush, then Add) and when the stream ends (Flush). Intervals
// without trades produce no bar.
//
// Volume, Count and VWAP's Σp·q are differences of running Totals (the
// totals now less those just before the bar's first trade), as for Window:
// a trade only moves the bar's prices. A Bars keeps its own Totals, which
// Add feeds; or it follows a Totals the caller keeps (Share), and is told
// of each trade with ObserveAll.
//
// The zero value holds no bar and Add panics on it: call Init first.
type Bars struct {
	// Hot: what a trade touches (57 B).
	last   int64 // start + iv − 1, the bar's last ns (saturated at MaxInt64), when open
	lo, hi tick.Price
	c      tick.Price
	recv   int64   // TsRecv of the last trade
	tot    *Totals // the running totals; nil: own
	open   bool    // a bar is open

	iv    int64 // interval, ns
	kLo   int64 // MinInt64/iv: intervals before it start before the int64 range
	kHi   int64 // MaxInt64/iv: intervals from it on end past it
	start int64
	o     tick.Price
	base  Totals // tot just before the bar's first trade
	own   Totals // the totals when not shared
}

// Init sets the interval (ns, > 0) and drops any open bar; b keeps its own
// Totals.
func (b *Bars) Init(interval int64) {
	if interval <= 0 {
		panic("stats: Bars interval must be > 0")
	}
	*b = Bars{iv: interval, kLo: math.MinInt64 / interval, kHi: math.MaxInt64 / interval}
}

// Share makes b follow tot, which the caller advances: for each trade, call
// ObserveAll, then add the trade to tot. Call it after Init, before the first
// trade.
func (b *Bars) Share(tot *Totals) { b.tot = tot }

// totals returns the Totals b follows.
func (b *Bars) totals() *Totals {
	if b.tot != nil {
		return b.tot
	}
	return &b.own
}

// Interval returns I in ns.
func (b *Bars) Interval() int64 { return b.iv }

// Open reports whether a bar is open.
func (b *Bars) Open() bool { return b.open }

// Due reports whether a trade at t belongs to a later interval than the open
// bar, which must then be flushed before Add.
func (b *Bars) Due(t int64) bool { return b.open && t > b.last }

// Add adds a trade of q at p, event time t, receive time recv, to b's own
// Totals (not for a shared Bars: see ObserveAll).
func (b *Bars) Add(t, recv int64, p tick.Price, q int64) {
	if !b.open {
		b.begin(t, p)
	}
	b.extend(recv, p)
	b.own.Add(p, q)
}

// NextDue returns the earliest time at which one of bars is Due: the end
// of the open bar that ends first, or math.MaxInt64 when none is open or
// the first to end is the last interval before MaxInt64 (where none is
// Due: its end is past the int64 range).
// It changes only when a bar opens or is flushed, so a caller can keep it
// and look at its bars only once a trade reaches it.
func NextDue(bars []Bars) int64 {
	last := int64(math.MaxInt64)
	for i := range bars {
		if bars[i].open {
			last = min(last, bars[i].last)
		}
	}
	if last == math.MaxInt64 {
		return last
	}
	return last + 1
}

// ObserveAll records a trade at p, event time t, receive time recv, in
// every Bars of bars (all sharing the Totals the caller adds it to after):
// a Bars with no bar open opens the bar of t's interval; otherwise the
// trade joins the open bar (a t before its start counts as in it).
func ObserveAll(bars []Bars, t, recv int64, p tick.Price) {
	for i := range bars {
		b := &bars[i]
		if !b.open {
			b.begin(t, p)
		}
		b.extend(recv, p)
	}
}

// extend adds a trade at p, received at recv, to the open bar.
func (b *Bars) extend(recv int64, p tick.Price) {
	b.lo, b.hi = min(b.lo, p), max(b.hi, p) // branch-free: new extremes are data-dependent
	b.c = p
	b.recv = recv
}

// begin opens the bar of t's interval with a trade at p.
func (b *Bars) begin(t int64, p tick.Price) {
	b.open = true
	// The first and last intervals of the int64 range run past it: their
	// start and last ns are clamped to it, not wrapped (a start near
	// MinInt64 wrapped to 2262; an end past MaxInt64 made every trade Due,
	// each a bar of its own).
	k := floorDiv(t, b.iv)
	b.start, b.last = math.MinInt64, math.MaxInt64
	if k >= b.kLo {
		b.start = k * b.iv
	}
	if k < b.kHi {
		b.last = (k+1)*b.iv - 1
	}
	b.o, b.lo, b.hi = p, p, p
	b.base = *b.totals()
}

// Flush writes the open bar to dst (all fields but Symbol) and closes it.
// It reports false, leaving dst alone, when no bar is open.
func (b *Bars) Flush(dst *tick.Bar) bool {
	if !b.open {
		return false
	}
	b.open = false
	tot := b.totals()
	vol := tot.vol - b.base.vol
	dst.Count = uint32(tot.n - b.base.n)
	dst.Interval = b.iv
	dst.Start = b.start
	dst.Open, dst.High, dst.Low, dst.Close = b.o, b.hi, b.lo, b.c
	dst.Volume = vol
	dst.TsRecv = b.recv
	if vol > 0 {
		pq := tot.pq
		pq.s.sub(b.base.pq.s)
		dst.VWAP = pq.VWAP(vol)
	} else {
		dst.VWAP = b.c
	}
	return true
}
