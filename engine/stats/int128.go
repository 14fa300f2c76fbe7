package stats

import (
	"math/bits"
)

// int128 is a two's-complement signed 128-bit integer: the exact sums of
// prices and of price×qty. Sums of int64 products stay exact while their
// magnitude is below 2^127.
type int128 struct{ hi, lo uint64 }

// int128Of sign-extends v.
func int128Of(v int64) int128 { return int128{hi: uint64(v >> 63), lo: uint64(v)} }

// mulInt128 returns p×q exactly (q ≥ 0). Branch-free: the unsigned
// product of p's bits is p·q + 2^64·q when p < 0, so q comes off the high
// word then.
func mulInt128(p, q int64) int128 {
	hi, lo := bits.Mul64(uint64(p), uint64(q))
	return int128{hi - uint64(q)&uint64(p>>63), lo}
}

func (x *int128) add(y int128) {
	var c uint64
	x.lo, c = bits.Add64(x.lo, y.lo, 0)
	x.hi, _ = bits.Add64(x.hi, y.hi, c)
}

func (x *int128) sub(y int128) {
	var b uint64
	x.lo, b = bits.Sub64(x.lo, y.lo, 0)
	x.hi, _ = bits.Sub64(x.hi, y.hi, b)
}

func (x int128) neg() int128 {
	lo, b := bits.Sub64(0, x.lo, 0)
	hi, _ := bits.Sub64(0, x.hi, b)
	return int128{hi, lo}
}

func (x int128) negative() bool { return int64(x.hi) < 0 }

// abs returns |x| as an unsigned 128-bit value (exact, even for -2^127).
func (x int128) abs() (hi, lo uint64) {
	if x.negative() {
		x = x.neg()
	}
	return x.hi, x.lo
}

// float64 returns x rounded to a float64 (to within an ulp).
func (x int128) float64() float64 {
	hi, lo := x.abs()
	f := float64(hi)*(1<<64) + float64(lo)
	if x.negative() {
		return -f
	}
	return f
}
