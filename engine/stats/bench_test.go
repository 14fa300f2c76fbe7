package stats

import (
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

var sinkF float64
var sinkP tick.Price

// benchTrades is a fixed stream with 1 ms average spacing.
var benchTrades = genTrades(1, 4096, 1e6, 1e9, false)

func BenchmarkRolling(b *testing.B) {
	var r Rolling
	r.Init(50)
	b.ReportAllocs()
	for i := range b.N {
		r.Add(benchTrades[i&4095].p.Float64())
		sinkF += r.ZScore()
	}
}

// BenchmarkRollingNaive recomputes mean and stddev over a slice per tick: the baseline.
func BenchmarkRollingNaive(b *testing.B) {
	hist := make([]float64, 0, 50)
	b.ReportAllocs()
	for i := range b.N {
		if len(hist) == 50 {
			copy(hist, hist[1:])
			hist = hist[:49]
		}
		hist = append(hist, benchTrades[i&4095].p.Float64())
		var sum, ss float64
		for _, v := range hist {
			sum += v
		}
		m := sum / float64(len(hist))
		for _, v := range hist {
			ss += (v - m) * (v - m)
		}
		sinkF += ss
	}
}

func BenchmarkEMA(b *testing.B) {
	var e EMA
	d := HalfLife(10 * time.Second)
	b.ReportAllocs()
	for i := range b.N {
		tr := &benchTrades[i&4095]
		e.Add(int64(i)*1_000_000, tr.p.Float64(), d)
	}
	sinkF = e.Value()
}

func BenchmarkWindow(b *testing.B) {
	var w Window
	w.Init(int64(time.Second), 20)
	b.ReportAllocs()
	for i := range b.N {
		tr := &benchTrades[i&4095]
		w.Add(int64(i)*1_000_000, tr.p, tr.q)
		sinkF += w.Mean()
	}
}

func BenchmarkBars(b *testing.B) {
	var bb Bars
	bb.Init(int64(time.Second))
	var out tick.Bar
	b.ReportAllocs()
	for i := range b.N {
		tr := &benchTrades[i&4095]
		t := int64(i) * 1_000_000
		if bb.Due(t) {
			bb.Flush(&out)
		}
		bb.Add(t, t, tr.p, tr.q)
	}
	sinkP = out.VWAP
}

func BenchmarkSession(b *testing.B) {
	var s Session
	b.ReportAllocs()
	for i := range b.N {
		tr := &benchTrades[i&4095]
		s.Add(tr.p, tr.q)
	}
	sinkP = s.VWAP()
}

// BenchmarkShared is the engine's per-trade stream work for windows and
// bars: a Session whose Totals two windows (1 s, 60 s) and two bar series
// (1 s, 1 m) share, so a trade is summed once.
func BenchmarkShared(b *testing.B) { benchStream(b, true) }

// BenchmarkSharedOwn is the baseline for BenchmarkShared: the same windows
// and bars each keeping their own sums.
func BenchmarkSharedOwn(b *testing.B) { benchStream(b, false) }

func benchStream(b *testing.B, shared bool) {
	var s Session
	var wins [2]Window
	var bars [2]Bars
	for i, span := range []int64{int64(time.Second), int64(time.Minute)} {
		wins[i].Init(span, 20)
		bars[i].Init(span)
		if shared {
			wins[i].Share(s.Totals())
			bars[i].Share(s.Totals())
		}
	}
	var out tick.Bar
	b.ReportAllocs()
	for i := range b.N {
		tr := &benchTrades[i&4095]
		t := int64(i) * 1_000_000
		for j := range bars {
			if bars[j].Due(t) {
				bars[j].Flush(&out)
			}
		}
		if shared {
			for j := range wins {
				wins[j].Observe(t, tr.p)
			}
			ObserveAll(bars[:], t, t, tr.p)
		} else {
			for j := range wins {
				wins[j].Add(t, tr.p, tr.q)
			}
			for j := range bars {
				bars[j].Add(t, t, tr.p, tr.q)
			}
		}
		s.Add(tr.p, tr.q)
		sinkF += float64(wins[0].Count() + wins[1].Volume())
	}
	sinkP = out.VWAP
}
