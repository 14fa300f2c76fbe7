package stats

import (
	"math/bits"

	"github.com/tickd/tickd/tick"
)

// PQSum is an exact Σ price×qty over trades, for VWAP = Σ(p·q) / Σq:
//
//	pos = Σ p·q over p ≥ 0,  neg = Σ |p|·q over p < 0   (each 128-bit unsigned)
//	VWAP = (pos − neg) / Σq, rounded half up (towards +∞) to one Price unit
//
// Each product comes from bits.Mul64 and is added with bits.Add64, so the sum
// is exact while each half stays below 2^128 (e.g. 10^10 trades of 10^9
// shares at 10^9.5 currency units). Quantities must be ≥ 0. Keeping negative
// prices in their own half keeps the common case (p ≥ 0) branch-predictable.
//
// The zero value is an empty sum.
type PQSum struct {
	posHi, posLo uint64
	negHi, negLo uint64
}

// Add adds p×q (q ≥ 0).
func (s *PQSum) Add(p tick.Price, q int64) {
	if p >= 0 {
		hi, lo := bits.Mul64(uint64(p), uint64(q))
		var c uint64
		s.posLo, c = bits.Add64(s.posLo, lo, 0)
		s.posHi += hi + c
		return
	}
	hi, lo := bits.Mul64(uint64(-p), uint64(q)) // -MinInt64 as uint64 is 2^63: right
	var c uint64
	s.negLo, c = bits.Add64(s.negLo, lo, 0)
	s.negHi += hi + c
}

// VWAP returns Σ(p·q)/vol rounded half up, where vol is Σq of the same
// trades; 0 when vol is 0.
func (s *PQSum) VWAP(vol int64) tick.Price {
	if vol <= 0 {
		return 0
	}
	v := uint64(vol)
	neg := s.negHi > s.posHi || (s.negHi == s.posHi && s.negLo > s.posLo)
	var hi, lo, b uint64
	if neg {
		lo, b = bits.Sub64(s.negLo, s.posLo, 0)
		hi, _ = bits.Sub64(s.negHi, s.posHi, b)
	} else {
		lo, b = bits.Sub64(s.posLo, s.negLo, 0)
		hi, _ = bits.Sub64(s.posHi, s.negHi, b)
	}
	// |Σp·q|/vol ≤ max|p| < 2^63, so hi < vol and Div64 cannot overflow.
	q, r := bits.Div64(hi, lo, v)
	if neg {
		if r > v-r { // more than half away: −(q+1); exactly half rounds up to −q
			q++
		}
		return tick.Price(-int64(q))
	}
	if r >= v-r { // half or more: round up
		q++
	}
	return tick.Price(q)
}

// Session accumulates a symbol's trades since its first: count, volume,
// low, high and the exact VWAP (see PQSum).
//
// The zero value is an empty session.
type Session struct {
	n      int64
	vol    int64
	lo, hi tick.Price
	pq     PQSum
}

// Add records a trade of q (≥ 0) at p.
func (s *Session) Add(p tick.Price, q int64) {
	if s.n == 0 || p < s.lo {
		s.lo = p
	}
	if s.n == 0 || p > s.hi {
		s.hi = p
	}
	s.n++
	s.vol += q
	s.pq.Add(p, q)
}

// Count returns the number of trades.
func (s *Session) Count() int64 { return s.n }

// Volume returns Σq.
func (s *Session) Volume() int64 { return s.vol }

// Min returns the lowest price, 0 before the first trade.
func (s *Session) Min() tick.Price { return s.lo }

// Max returns the highest price, 0 before the first trade.
func (s *Session) Max() tick.Price { return s.hi }

// VWAP returns the exact session VWAP rounded half up to a Price; 0 while
// the volume is 0.
func (s *Session) VWAP() tick.Price { return s.pq.VWAP(s.vol) }
