package stats

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// trade is one generated tick.
type trade struct {
	t int64
	p tick.Price
	q int64
}

// genTrades returns a random stream with fixed seed: mostly small steps, some
// ticks at the same instant, some exactly on multiples of grid (window and
// bar edges), and some gaps longer than gap (empty windows behind them).
func genTrades(seed uint64, n int, grid, gap int64, negative bool) []trade {
	r := rand.New(rand.NewPCG(seed, 42))
	out := make([]trade, 0, n)
	t := int64(1_700_000_000_000_000_000) / grid * grid
	px := int64(100 * tick.PriceScale)
	if negative {
		px = -2 * tick.PriceScale
	}
	for range n {
		switch x := r.IntN(100); {
		case x < 10: // same instant
		case x < 30: // next grid line exactly
			t = (t/grid + 1) * grid
		case x < 33: // a gap longer than the window
			t += gap + r.Int64N(3*gap)
		case x < 36: // one ns before a grid line
			t = (t/grid+1)*grid - 1
		default:
			t += r.Int64N(grid / 3)
		}
		px += (r.Int64N(201) - 100) * 10_000_000 // ±1.00 in 0.01 steps
		if r.IntN(50) == 0 {                     // a flat stretch now and then
			px = px / tick.PriceScale * tick.PriceScale
		}
		q := r.Int64N(1000)
		if r.IntN(20) == 0 {
			q = 0
		}
		out = append(out, trade{t, tick.Price(px), q})
	}
	return out
}

func closeTo(got, want, tol float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Max(math.Abs(got), math.Abs(want)))
}

func TestRollingMatchesRecompute(t *testing.T) {
	for _, n := range []int{1, 2, 3, 20, 64} {
		for seed := range uint64(3) {
			var r Rolling
			r.Init(n)
			var hist []float64
			for i, tr := range genTrades(seed, 5000, 1e6, 1e9, seed == 2) {
				x := tr.p.Float64()
				r.Add(x)
				hist = append(hist, x)
				w := hist[max(0, len(hist)-n):]
				var sum float64
				for _, v := range w {
					sum += v
				}
				mean := sum / float64(len(w))
				var ss float64
				for _, v := range w {
					ss += (v - mean) * (v - mean)
				}
				sd := 0.0
				if len(w) > 1 {
					sd = math.Sqrt(ss / float64(len(w)-1))
				}
				z := 0.0
				if sd > 0 {
					z = (x - mean) / sd
				}
				if r.Len() != len(w) || r.Full() != (len(w) == n) || r.Last() != x {
					t.Fatalf("n=%d seed=%d i=%d: len %d full %v last %v", n, seed, i, r.Len(), r.Full(), r.Last())
				}
				// Rounding leaves Var off by about N·ε·|x|·range: compare
				// it absolutely near 0 and relatively elsewhere.
				if !closeTo(r.Mean(), mean, 1e-12) || !closeTo(r.Var(), sd*sd, 1e-9) || (sd > 1e-3 && !closeTo(r.StdDev(), sd, 1e-9)) {
					t.Fatalf("n=%d seed=%d i=%d: mean %v sd %v, want %v %v", n, seed, i, r.Mean(), r.StdDev(), mean, sd)
				}
				// z is ill-conditioned when sd is tiny; compare where it is not.
				if sd > 1e-6 && math.Abs(r.ZScore()-z) > 1e-6 {
					t.Fatalf("n=%d seed=%d i=%d: z %v, want %v", n, seed, i, r.ZScore(), z)
				}
			}
		}
	}
}

func TestRollingFlatIsExactlyZero(t *testing.T) {
	var r Rolling
	r.Init(8)
	for i := range 100 {
		r.Add(100 + float64(i%7)) // varied, then flat for more than a lap
	}
	for range 16 {
		r.Add(101.25)
	}
	if r.StdDev() != 0 || r.ZScore() != 0 || r.Mean() != 101.25 {
		t.Fatalf("flat window: sd %v z %v mean %v", r.StdDev(), r.ZScore(), r.Mean())
	}
	var zero Rolling
	if zero.Mean() != 0 || zero.StdDev() != 0 || zero.ZScore() != 0 || zero.Last() != 0 || zero.Full() {
		t.Fatal("zero Rolling not empty")
	}
}

// TestRollingFlatWindowIsExactlyZero fills the window with one price at
// every phase of the ring: from the sample that makes it flat, before the
// ring wraps and recomputes its sums, the mean is that price and the
// standard deviation and z-score are exactly 0, not rounding noise.
func TestRollingFlatWindowIsExactlyZero(t *testing.T) {
	for _, n := range []int{2, 3, 14, 50, 56} {
		for phase := range n {
			var r Rolling
			r.Init(n)
			trades := genTrades(uint64(phase), 3*n+phase+1, 1e6, 1e9, false)
			for _, tr := range trades[:len(trades)-1] {
				r.Add(tr.p.Float64())
			}
			flat := trades[len(trades)-1].p.Float64()
			for i := 1; i <= 2*n; i++ {
				r.Add(flat)
				if i < n {
					continue
				}
				if r.Mean() != flat || r.Var() != 0 || r.StdDev() != 0 || r.ZScore() != 0 {
					t.Fatalf("n=%d phase=%d: %d samples of %v: mean %v var %v sd %v z %v",
						n, phase, i, flat, r.Mean(), r.Var(), r.StdDev(), r.ZScore())
				}
			}
			r.Add(flat + 1) // no longer flat
			if r.StdDev() == 0 || r.Mean() == flat {
				t.Fatalf("n=%d phase=%d: after a new price: mean %v sd %v", n, phase, r.Mean(), r.StdDev())
			}
		}
	}
}

func TestEMAMatchesClosedForm(t *testing.T) {
	for _, hl := range []time.Duration{time.Millisecond, 250 * time.Millisecond, 10 * time.Second} {
		d := HalfLife(hl)
		var e EMA
		if e.OK() || e.Value() != 0 {
			t.Fatal("zero EMA not empty")
		}
		tr := genTrades(7, 1500, 1e6, 1e9, false)
		for i := range tr {
			e.Add(tr[i].t, tr[i].p.Float64(), d)
			// v_n = x_0·2^(−(t_n−t_0)/H) + Σ_{i≥1} (1 − 2^(−Δt_i/H))·2^(−(t_n−t_i)/H)·x_i
			tn := tr[i].t
			want := tr[0].p.Float64() * math.Exp2(-float64(tn-tr[0].t)/float64(hl))
			for j := 1; j <= i; j++ {
				dt := float64(tr[j].t - tr[j-1].t)
				w := (1 - math.Exp2(-dt/float64(hl))) * math.Exp2(-float64(tn-tr[j].t)/float64(hl))
				want += w * tr[j].p.Float64()
			}
			if !closeTo(e.Value(), want, 1e-9) {
				t.Fatalf("hl=%v i=%d: ema %v, want %v", hl, i, e.Value(), want)
			}
		}
	}
}

// TestEMAsMatchEMA checks that a set of EMAs gives the values of single
// EMAs bit for bit, on half-lives whose gaps take every path (ms: expm1;
// s: the polynomial; min: the tiny one) and on half-lives long enough
// that every gap is tiny for all of them (EMAs.Add's short path).
func TestEMAsMatchEMA(t *testing.T) {
	for _, hls := range [][]time.Duration{{time.Millisecond, time.Second, time.Minute}, {time.Hour, 24 * time.Hour}} {
		var ds Decays
		for _, h := range hls {
			ds.Append(HalfLife(h))
		}
		var set EMAs
		set.Init(ds.Len())
		single := make([]EMA, ds.Len())
		for _, tr := range genTrades(9, 3000, 1e6, 1e9, false) {
			set.Add(tr.t, tr.p.Float64(), &ds)
			for i := range single {
				single[i].Add(tr.t, tr.p.Float64(), ds.d[i])
				if set.Value(i) != single[i].Value() {
					t.Fatalf("half-lives %v: EMAs[%d] %v, EMA %v", hls, i, set.Value(i), single[i].Value())
				}
			}
		}
	}
}

func TestEMAGapWeights(t *testing.T) {
	var e EMA
	d := HalfLife(time.Second)
	e.Add(0, 100, d)
	e.Add(0, 200, d) // same instant: no weight
	if e.Value() != 100 {
		t.Fatalf("same instant moved the EMA: %v", e.Value())
	}
	e.Add(int64(time.Second), 200, d) // one half-life: weight ½
	if !closeTo(e.Value(), 150, 1e-15) {
		t.Fatalf("after one half-life: %v, want 150", e.Value())
	}
	e.Add(int64(time.Second)-5, 0, d) // earlier: no weight, time kept
	e.Add(int64(3*time.Second), 150, d)
	if !closeTo(e.Value(), 150, 1e-15) {
		t.Fatalf("after two half-lives at the same level: %v", e.Value())
	}
}

// refVWAP is Σ(p·q)/Σq rounded half up (towards +∞), with math/big.
func refVWAP(ts []trade) (tick.Price, bool) {
	s, v := new(big.Int), new(big.Int)
	for _, tr := range ts {
		s.Add(s, new(big.Int).Mul(big.NewInt(int64(tr.p)), big.NewInt(tr.q)))
		v.Add(v, big.NewInt(tr.q))
	}
	if v.Sign() == 0 {
		return 0, false
	}
	// ⌊(2s + v) / 2v⌋ with floor division (v > 0, so Euclidean = floor).
	num := new(big.Int).Add(new(big.Int).Lsh(s, 1), v)
	q := new(big.Int).Div(num, new(big.Int).Lsh(v, 1))
	return tick.Price(q.Int64()), true
}

func TestPQSumRounding(t *testing.T) {
	cases := []struct {
		ts   []trade
		want tick.Price
	}{
		{[]trade{{0, 1, 1}, {0, 2, 1}}, 2},    // 1.5 → 2
		{[]trade{{0, -1, 1}, {0, -2, 1}}, -1}, // −1.5 → −1 (half up)
		{[]trade{{0, -1, 2}, {0, -2, 1}}, -1}, // −1.33 → −1
		{[]trade{{0, -1, 1}, {0, -2, 2}}, -2}, // −1.67 → −2
		{[]trade{{0, 3, 1}, {0, -2, 1}}, 1},   // 0.5 → 1
		{[]trade{{0, -3, 1}, {0, 2, 1}}, 0},   // −0.5 → 0
		{[]trade{{0, 7, 3}}, 7},               //
		{[]trade{{0, math.MaxInt64, 1 << 62}, {0, math.MaxInt64 - 1, 1<<62 - 1}}, math.MaxInt64}, // 2^126-scale sums
		{[]trade{{0, math.MinInt64, 1 << 62}, {0, math.MinInt64 + 1, 1<<62 - 1}}, math.MinInt64},
		{[]trade{{0, math.MaxInt64, 1 << 62}, {0, math.MinInt64 + 1, 1 << 62}}, 0},
	}
	for i, c := range cases {
		var s PQSum
		var vol int64
		for _, tr := range c.ts {
			s.Add(tr.p, tr.q)
			vol += tr.q
		}
		ref, _ := refVWAP(c.ts)
		if got := s.VWAP(vol); got != c.want || ref != c.want {
			t.Errorf("case %d: VWAP %d, ref %d, want %d", i, got, ref, c.want)
		}
	}
	var zero PQSum
	if zero.VWAP(0) != 0 {
		t.Fatal("empty VWAP not 0")
	}
}

func TestSessionMatchesRecompute(t *testing.T) {
	for seed := range uint64(4) {
		var s Session
		tr := genTrades(seed, 3000, 1e6, 1e9, seed%2 == 1)
		for i := range tr {
			s.Add(tr[i].p, tr[i].q)
			if i%97 != 0 && i != len(tr)-1 {
				continue // the recompute is O(i): check a sample of prefixes
			}
			lo, hi, vol := tr[0].p, tr[0].p, int64(0)
			for _, x := range tr[:i+1] {
				lo, hi, vol = min(lo, x.p), max(hi, x.p), vol+x.q
			}
			want, ok := refVWAP(tr[:i+1])
			if !ok {
				want = 0
			}
			if s.Count() != int64(i+1) || s.Volume() != vol || s.Min() != lo || s.Max() != hi || s.VWAP() != want {
				t.Fatalf("seed %d i %d: n %d vol %d lo %v hi %v vwap %v; want %d %d %v %v %v",
					seed, i, s.Count(), s.Volume(), s.Min(), s.Max(), s.VWAP(), i+1, vol, lo, hi, want)
			}
		}
	}
}

func TestWindowMatchesRecompute(t *testing.T) {
	for _, cfg := range []struct {
		span    int64
		buckets int
	}{{1e9, 1}, {1e9, 4}, {1e9, 20}, {60e9, 60}} {
		w := cfg.span / int64(cfg.buckets)
		for seed := range uint64(3) {
			var win Window
			if win.Count() != 0 || win.Mean() != 0 || win.VWAP() != 0 || win.First() != 0 || win.Min() != 0 {
				t.Fatal("zero Window not empty")
			}
			win.Init(cfg.span, cfg.buckets)
			tr := genTrades(seed, 4000, w, cfg.span, seed == 1)
			for i := range tr {
				win.Add(tr[i].t, tr[i].p, tr[i].q)
				now := tr[i].t
				start := (floorDiv(now, w) - int64(cfg.buckets) + 1) * w
				var n, vol int64
				var sum, pq float64
				var first, lo, hi tick.Price
				j := i // times never decrease: the window is a suffix
				for j > 0 && tr[j-1].t >= start {
					j--
				}
				for _, x := range tr[j : i+1] {
					if n == 0 {
						first, lo, hi = x.p, x.p, x.p
					}
					n, vol = n+1, vol+x.q
					sum += x.p.Float64()
					pq += x.p.Float64() * float64(x.q)
					lo, hi = min(lo, x.p), max(hi, x.p)
				}
				vwap := 0.0
				if vol > 0 {
					vwap = pq / float64(vol)
				}
				if win.Count() != n || win.Volume() != vol || win.First() != first || win.Min() != lo || win.Max() != hi {
					t.Fatalf("span %d/%d seed %d i %d: n %d vol %d first %v lo %v hi %v; want %d %d %v %v %v",
						cfg.span, cfg.buckets, seed, i, win.Count(), win.Volume(), win.First(), win.Min(), win.Max(), n, vol, first, lo, hi)
				}
				if !closeTo(win.Mean(), sum/float64(n), 1e-12) || !closeTo(win.VWAP(), vwap, 1e-12) {
					t.Fatalf("span %d/%d seed %d i %d: mean %v vwap %v; want %v %v",
						cfg.span, cfg.buckets, seed, i, win.Mean(), win.VWAP(), sum/float64(n), vwap)
				}
			}
		}
	}
}

func TestWindowEdges(t *testing.T) {
	var win Window
	win.Init(1000, 4) // buckets of 250 ns
	win.Add(1000, 10, 1)
	win.Add(1999, 20, 1) // bucket 7: window is buckets 4..7 = [1000, 1999]
	if win.Count() != 2 {
		t.Fatalf("count %d, want 2", win.Count())
	}
	win.Add(2000, 30, 1) // bucket 8: window [1250, 2000]; the trade at 1000 left
	if win.Count() != 2 || win.First() != 20 {
		t.Fatalf("count %d first %v, want 2, 20", win.Count(), win.First())
	}
	win.Add(1500, 40, 1) // earlier than the current bucket: counted in it
	if win.Count() != 3 || win.Max() != 40 {
		t.Fatalf("late trade: count %d max %v", win.Count(), win.Max())
	}
	win.Add(5000, 50, 7) // gap longer than W: only this trade remains
	if win.Count() != 1 || win.Mean() != tick.Price(50).Float64() || win.VWAP() != tick.Price(50).Float64() || win.First() != 50 || win.Volume() != 7 {
		t.Fatalf("after gap: count %d mean %v vwap %v", win.Count(), win.Mean(), win.VWAP())
	}
	win.Add(-1, -5, 0) // earlier: counted in the current bucket
	if win.Count() != 2 || win.Min() != -5 || win.Max() != 50 {
		t.Fatalf("late trade: count %d min %v max %v", win.Count(), win.Min(), win.Max())
	}

	win.Init(1000, 4)    // negative times floor towards −∞
	win.Add(-1001, 1, 1) // bucket −5
	win.Add(-251, 2, 1)  // bucket −2: window is buckets −5..−2 = [−1250, −251]
	win.Add(-250, 3, 1)  // bucket −1: [−1000, −250]; the trade at −1001 left
	if win.Count() != 2 || win.First() != 2 {
		t.Fatalf("negative times: count %d first %v", win.Count(), win.First())
	}
}

// naiveBars groups a stream into bars: the reference for Bars.
func naiveBars(tr []trade, iv int64) []tick.Bar {
	var out []tick.Bar
	for i := 0; i < len(tr); {
		start := floorDiv(tr[i].t, iv) * iv
		j := i
		for j < len(tr) && tr[j].t < start+iv {
			j++
		}
		b := tick.Bar{Interval: iv, Start: start, Open: tr[i].p, Close: tr[j-1].p, High: tr[i].p, Low: tr[i].p, Count: uint32(j - i), TsRecv: tr[j-1].t + 1}
		for _, x := range tr[i:j] {
			b.High, b.Low, b.Volume = max(b.High, x.p), min(b.Low, x.p), b.Volume+x.q
		}
		var ok bool
		if b.VWAP, ok = refVWAP(tr[i:j]); !ok {
			b.VWAP = b.Close
		}
		out = append(out, b)
		i = j
	}
	return out
}

func TestBarsMatchNaive(t *testing.T) {
	for _, iv := range []int64{1e6, 1e9, 7} {
		for seed := range uint64(4) {
			tr := genTrades(seed, 5000, iv, 3*iv, seed%2 == 1)
			var b Bars
			b.Init(iv)
			var got []tick.Bar
			var bar tick.Bar
			for _, x := range tr {
				if b.Due(x.t) {
					b.Flush(&bar)
					got = append(got, bar)
				}
				b.Add(x.t, x.t+1, x.p, x.q)
			}
			if b.Flush(&bar) {
				got = append(got, bar)
			}
			if b.Open() || b.Flush(&bar) {
				t.Fatal("bar still open after Flush")
			}
			want := naiveBars(tr, iv)
			if len(got) != len(want) {
				t.Fatalf("iv %d seed %d: %d bars, want %d", iv, seed, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("iv %d seed %d bar %d:\n got %+v\nwant %+v", iv, seed, i, got[i], want[i])
				}
			}
		}
	}
}

func TestAlpha(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for i := range 200000 {
		y := r.Float64() / 16 // around the switch at 1/32
		if i%4 == 0 {
			y = math.Ldexp(r.Float64(), -r.IntN(60)) // tiny gaps
		}
		want := -math.Expm1(-y)
		if got := alpha(y); math.Abs(got-want) > 1e-15*want {
			t.Fatalf("alpha(%g) = %.17g, want %.17g (rel %g)", y, got, want, (got-want)/want)
		}
	}
	if alpha(0) != 0 {
		t.Fatal("alpha(0) != 0")
	}
}

// TestNextDue: the earliest end among the open bars, MaxInt64 with none.
func TestNextDue(t *testing.T) {
	bars := make([]Bars, 3)
	for i, iv := range []int64{7, 3, 5} {
		bars[i].Init(iv)
	}
	if got := NextDue(bars); got != math.MaxInt64 {
		t.Fatalf("no bar open: %d", got)
	}
	ObserveAll(bars[:1], 8, 0, 100) // [7, 14)
	if got := NextDue(bars); got != 14 {
		t.Fatalf("one open: %d, want 14", got)
	}
	ObserveAll(bars, 10, 0, 100) // [7, 14), [9, 12), [10, 15)
	if got := NextDue(bars); got != 12 {
		t.Fatalf("all open: %d, want 12", got)
	}
	var b tick.Bar
	bars[1].Flush(&b)
	if got := NextDue(bars); got != 14 {
		t.Fatalf("after a flush: %d, want 14", got)
	}
}

// TestBarsAndWindowsAtTheEndsOfTime feeds trades in the last nanoseconds
// of the int64 range (and in its first), where the end of the last interval, (k+1)·I, does
// not fit an int64: each interval is still one bar (grouped by ⌊t/I⌋, as
// a reference), NextDue never misses a Due bar, and a window keeps the
// trades of its last bucket together.
func TestBarsAndWindowsAtTheEndsOfTime(t *testing.T) {
	const n = 30
	var times []int64
	for i := int64(n - 1); i >= 0; i-- {
		times = append(times, math.MaxInt64-i)
	}
	// 7 divides 2^63 − 1: a bar ends exactly at MaxInt64 and the last
	// trade opens one of its own; 1 ns bars end at every trade.
	for _, iv := range []int64{1, 7, 1e9, int64(time.Minute), 1 << 62} {
		var b Bars
		b.Init(iv)
		bars := []Bars{b}
		var got []tick.Bar
		var bar tick.Bar
		for i, ts := range times {
			if bars[0].Due(ts) {
				if ts < NextDue(bars) {
					t.Fatalf("iv %d: a trade at %d is Due but before NextDue %d", iv, ts, NextDue(bars))
				}
				bars[0].Flush(&bar)
				got = append(got, bar)
			}
			bars[0].Add(ts, ts, tick.Price(i+1), 1)
		}
		bars[0].Flush(&bar)
		got = append(got, bar)

		var want []int64 // trades per bar, by ⌊t/I⌋
		for i, ts := range times {
			if i == 0 || floorDiv(ts, iv) != floorDiv(times[i-1], iv) {
				want = append(want, 0)
			}
			want[len(want)-1]++
		}
		if len(got) != len(want) {
			t.Fatalf("iv %d: %d bars, want %d: %+v", iv, len(got), len(want), got)
		}
		for i, g := range got {
			if int64(g.Count) != want[i] || g.Volume != want[i] || g.Start != floorDiv(g.Start, iv)*iv {
				t.Fatalf("iv %d bar %d: %+v, want %d trades", iv, i, g, want[i])
			}
		}
	}

	// At the start of time, the first interval begins before MinInt64:
	// its bar starts at MinInt64, not at a start wrapped to 2262.
	for _, iv := range []int64{1, 7, 1e9, 1 << 62} {
		var b Bars
		b.Init(iv)
		var got []tick.Bar
		var bar tick.Bar
		for i := int64(0); i < n; i++ {
			ts := math.MinInt64 + i
			if b.Due(ts) {
				b.Flush(&bar)
				got = append(got, bar)
			}
			b.Add(ts, ts, tick.Price(i+1), 1)
		}
		b.Flush(&bar)
		got = append(got, bar)
		for i, g := range got {
			want := new(big.Int).Mul(big.NewInt(floorDiv(g.TsRecv, iv)), big.NewInt(iv)) // the true start
			if want.Cmp(big.NewInt(math.MinInt64)) < 0 {
				want.SetInt64(math.MinInt64)
			}
			if g.Start != want.Int64() || g.Start > g.TsRecv {
				t.Fatalf("iv %d bar %d: start %d, want %d (last trade at %d)", iv, i, g.Start, want, g.TsRecv)
			}
		}
		if iv > n && (len(got) != 1 || got[0].Count != n) {
			t.Fatalf("iv %d: %d bars %+v, want one of %d trades", iv, len(got), got, n)
		}
	}

	var w Window
	w.Init(20e9, 20) // buckets of 1 s: the last n ns are in one
	for i, ts := range times {
		w.Add(ts, tick.Price(100+i), 2)
	}
	if w.Count() != n || w.Volume() != 2*n || w.First() != 100 || w.Min() != 100 || w.Max() != 100+n-1 {
		t.Fatalf("window: count %d volume %d first %v min %v max %v, want %d %d 100 100 %d",
			w.Count(), w.Volume(), w.First(), w.Min(), w.Max(), n, 2*n, 100+n-1)
	}
}
