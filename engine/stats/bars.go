package stats

import "github.com/tickd/tickd/tick"

// Bars builds OHLCV bars of one interval I over event time. A bar covers
// [Start, Start+I) with Start a multiple of I (aligned to the epoch):
//
//	Open, Close = first and last trade price   High, Low = extremes
//	Volume = Σq   Count = trades   VWAP = Σ(p·q)/Σq exactly (PQSum), rounded
//	half up; Close when Volume is 0 (every trade had q = 0)
//
// The caller closes a bar when the first trade of a later interval arrives
// (Due, then Flush, then Add) and when the stream ends (Flush). Intervals
// without trades produce no bar.
//
// The zero value holds no bar and Add panics on it: call Init first.
type Bars struct {
	iv     int64 // interval, ns
	open   bool  // a bar is open
	start  int64
	end    int64 // start + iv
	o, c   tick.Price
	lo, hi tick.Price
	vol    int64
	n      uint32
	recv   int64 // TsRecv of the last trade
	pq     PQSum
}

// Init sets the interval (ns, > 0) and drops any open bar.
func (b *Bars) Init(interval int64) {
	if interval <= 0 {
		panic("stats: Bars interval must be > 0")
	}
	*b = Bars{iv: interval}
}

// Interval returns I in ns.
func (b *Bars) Interval() int64 { return b.iv }

// Open reports whether a bar is open.
func (b *Bars) Open() bool { return b.open }

// Due reports whether a trade at t belongs to a later interval than the open
// bar, which must then be flushed before Add.
func (b *Bars) Due(t int64) bool { return b.open && t >= b.end }

// Add adds a trade of q at p, event time t, receive time recv. With no bar
// open it opens the bar of t's interval; otherwise the trade joins the open
// bar (a t before its start counts as in it).
func (b *Bars) Add(t, recv int64, p tick.Price, q int64) {
	if !b.open {
		b.open = true
		b.start = floorDiv(t, b.iv) * b.iv
		b.end = b.start + b.iv
		b.o, b.lo, b.hi = p, p, p
		b.vol, b.n, b.pq = 0, 0, PQSum{}
	}
	b.lo, b.hi = min(b.lo, p), max(b.hi, p) // branch-free: new extremes are data-dependent
	b.c = p
	b.vol += q
	b.n++
	b.recv = recv
	b.pq.Add(p, q)
}

// Flush writes the open bar to dst (all fields but Symbol) and closes it.
// It reports false, leaving dst alone, when no bar is open.
func (b *Bars) Flush(dst *tick.Bar) bool {
	if !b.open {
		return false
	}
	b.open = false
	dst.Count = b.n
	dst.Interval = b.iv
	dst.Start = b.start
	dst.Open, dst.High, dst.Low, dst.Close = b.o, b.hi, b.lo, b.c
	dst.Volume = b.vol
	dst.TsRecv = b.recv
	if b.vol > 0 {
		dst.VWAP = b.pq.VWAP(b.vol)
	} else {
		dst.VWAP = b.c
	}
	return true
}
