package stats

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/tickd/tickd/tick"
)

// TestSharedTotals: windows and bars that share one Totals (Observe, then
// the session adds the trade), as the engine keeps them, agree exactly with
// ones that keep their own (Add).
func TestSharedTotals(t *testing.T) {
	for seed := range uint64(3) {
		tr := genTrades(seed, 5000, 5e7, 2e9, seed == 1)
		var sess Session
		var shared, own [2]Window
		var sharedB, ownB [2]Bars
		for i, span := range []int64{1e9, 6e9} {
			shared[i].Init(span, 20)
			shared[i].Share(sess.Totals())
			own[i].Init(span, 20)
		}
		for i, iv := range []int64{3e8, 1e9} {
			sharedB[i].Init(iv)
			sharedB[i].Share(sess.Totals())
			ownB[i].Init(iv)
		}
		var got, want tick.Bar
		for n, x := range tr {
			for i := range sharedB {
				if d := sharedB[i].Due(x.t); d != ownB[i].Due(x.t) {
					t.Fatalf("seed %d trade %d bars %d: Due %v", seed, n, i, d)
				} else if d {
					sharedB[i].Flush(&got)
					ownB[i].Flush(&want)
					if got != want {
						t.Fatalf("seed %d trade %d bars %d:\n got %+v\nwant %+v", seed, n, i, got, want)
					}
				}
			}
			for i := range shared {
				shared[i].Observe(x.t, x.p)
				own[i].Add(x.t, x.p, x.q)
			}
			ObserveAll(sharedB[:], x.t, x.t+1, x.p)
			for i := range ownB {
				ownB[i].Add(x.t, x.t+1, x.p, x.q)
			}
			sess.Add(x.p, x.q)
			for i := range shared {
				s, o := &shared[i], &own[i]
				if s.Count() != o.Count() || s.Volume() != o.Volume() || s.First() != o.First() ||
					s.Mean() != o.Mean() || s.VWAP() != o.VWAP() || s.Min() != o.Min() || s.Max() != o.Max() {
					t.Fatalf("seed %d trade %d window %d: shared %d %d %v %v %v, own %d %d %v %v %v", seed, n, i,
						s.Count(), s.Volume(), s.First(), s.Mean(), s.VWAP(), o.Count(), o.Volume(), o.First(), o.Mean(), o.VWAP())
				}
			}
		}
		for i := range sharedB {
			if sharedB[i].Flush(&got) != ownB[i].Flush(&want) || got != want {
				t.Fatalf("seed %d final bar %d:\n got %+v\nwant %+v", seed, i, got, want)
			}
		}
	}
}

// TestMulInt128 checks the branch-free signed product against math/big,
// at the edges of the int64 range and at random.
func TestMulInt128(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	ps := []int64{0, 1, -1, 2, -2, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, 123456789, -987654321}
	qs := []int64{0, 1, 2, 1000, math.MaxInt64}
	for range 1000 {
		ps, qs = append(ps, int64(r.Uint64())), append(qs, r.Int64())
	}
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for i, p := range ps {
		for _, q := range qs[i%len(qs):][:min(20, len(qs)-i%len(qs))] {
			x := mulInt128(p, q)
			got := new(big.Int).SetUint64(x.hi)
			if x.negative() {
				got.Sub(got, two64)
			}
			got.Mul(got, two64).Add(got, new(big.Int).SetUint64(x.lo))
			if want := new(big.Int).Mul(big.NewInt(p), big.NewInt(q)); got.Cmp(want) != 0 {
				t.Fatalf("mulInt128(%d, %d) = %v, want %v", p, q, got, want)
			}
		}
	}
}
