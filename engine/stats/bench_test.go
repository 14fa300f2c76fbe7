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
