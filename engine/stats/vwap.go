package stats

import (
	"math/bits"

	"github.com/tickd/tickd/tick"
)

// PQSum is an exact Σ price×qty over trades, for VWAP = Σ(p·q) / Σq:
//
//	S = Σ p·q   (signed 128-bit: each product from bits.Mul64, summed with carries)
//	VWAP = S / Σq, rounded half up (towards +∞) to one Price unit
//
// The sum is exact while |S| < 2^127 (e.g. 10^10 trades of 10^9 shares at
// 10^9.5 currency units), so the only rounding is the final division's.
// Quantities must be ≥ 0.
//
// The zero value is an empty sum.
type PQSum struct{ s int128 }

// Add adds p×q (q ≥ 0).
func (s *PQSum) Add(p tick.Price, q int64) { s.s.add(mulInt128(int64(p), q)) }

// VWAP returns Σ(p·q)/vol rounded half up, where vol is Σq of the same
// trades; 0 when vol is 0.
func (s *PQSum) VWAP(vol int64) tick.Price { return divRound(s.s, vol) }

// divRound returns x/v rounded half up (towards +∞), for v > 0 and a
// quotient that fits a Price (as any Σp·q / Σq does); 0 when v ≤ 0.
func divRound(x int128, v int64) tick.Price {
	if v <= 0 {
		return 0
	}
	d := uint64(v)
	hi, lo := x.abs()
	// |Σp·q|/Σq ≤ max|p| ≤ 2^63, so hi < d and Div64 cannot overflow.
	q, r := bits.Div64(hi, lo, d)
	if x.negative() {
		if r > d-r { // more than half away: −(q+1); exactly half rounds up to −q
			q++
		}
		return tick.Price(-int64(q))
	}
	if r >= d-r { // half or more: round up
		q++
	}
	return tick.Price(q)
}

// Totals are running totals of a stream of trades, all exact: the count,
// the volume Σq, Σp and Σp·q (the sums of prices in 128 bits, see PQSum).
// Windows and Bars can share one (see Window.Share and Bars.Share) and
// read their own sums as differences of it, so each trade is summed once,
// here, however many windows and bars follow the stream.
//
// The zero value is empty.
type Totals struct {
	n   int64
	vol int64
	px  int128
	pq  PQSum
}

// Add adds a trade of q (≥ 0) at p.
func (s *Totals) Add(p tick.Price, q int64) {
	s.n++
	s.vol += q
	s.px.add(int128Of(int64(p)))
	s.pq.Add(p, q)
}

// Session accumulates a symbol's trades since its first: count, volume,
// low, high and the exact VWAP (see PQSum), over its Totals.
//
// The zero value is an empty session.
type Session struct {
	tot    Totals
	lo, hi tick.Price
}

// Add records a trade of q (≥ 0) at p.
func (s *Session) Add(p tick.Price, q int64) {
	if s.tot.n == 0 {
		s.lo, s.hi = p, p
	}
	s.lo, s.hi = min(s.lo, p), max(s.hi, p) // branch-free: new extremes are data-dependent
	// s.tot.Add(p, q), written out: Totals.Add is too big to inline, and
	// this is one call per trade rather than two.
	s.tot.n++
	s.tot.vol += q
	s.tot.px.add(int128Of(int64(p)))
	s.tot.pq.Add(p, q)
}

// Totals returns the session's running totals, for windows and bars to
// share.
func (s *Session) Totals() *Totals { return &s.tot }

// Count returns the number of trades.
func (s *Session) Count() int64 { return s.tot.n }

// Volume returns Σq.
func (s *Session) Volume() int64 { return s.tot.vol }

// Min returns the lowest price, 0 before the first trade.
func (s *Session) Min() tick.Price { return s.lo }

// Max returns the highest price, 0 before the first trade.
func (s *Session) Max() tick.Price { return s.hi }

// VWAP returns the exact session VWAP rounded half up to a Price; 0 while
// the volume is 0.
func (s *Session) VWAP() tick.Price { return s.tot.pq.VWAP(s.tot.vol) }
