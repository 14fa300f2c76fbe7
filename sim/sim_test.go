package sim

import (
	"math"
	"testing"
)

func TestDeterministic(t *testing.T) {
	a, _ := New(Config{Seed: 42, Count: 10})
	b, _ := New(Config{Seed: 42, Count: 10})
	c, _ := New(Config{Seed: 43, Count: 10})
	same := true
	for i := 0; i < 10000; i++ {
		x, y, z := a.Next(), b.Next(), c.Next()
		if x != y {
			t.Fatalf("trade %d differs with the same seed: %+v vs %+v", i, x, y)
		}
		if x != z {
			same = false
		}
	}
	if same {
		t.Fatal("a different seed gave the same stream")
	}
}

func TestWalkIsPlausible(t *testing.T) {
	g, err := New(Config{Count: 5, Rate: 10000})
	if err != nil {
		t.Fatal(err)
	}
	start := g.Next().TsEvent
	last := start
	const n = 200000
	seen := make([]int, 5)
	for i := 1; i < n; i++ {
		tr := g.Next()
		if tr.TsEvent <= last {
			t.Fatalf("event time not increasing at %d", i)
		}
		last = tr.TsEvent
		if tr.Price <= 0 || int64(tr.Price)%10_000_000 != 0 {
			t.Fatalf("price %v not a positive multiple of 0.01", tr.Price)
		}
		if tr.Qty <= 0 {
			t.Fatalf("qty %d", tr.Qty)
		}
		seen[tr.Symbol]++
	}
	rate := float64(n-1) / (float64(last-start) / 1e9)
	if math.Abs(rate-10000)/10000 > 0.02 {
		t.Errorf("event-time rate %.0f/s, want about 10000/s", rate)
	}
	for i, s := range seen {
		if s < n/5*9/10 {
			t.Errorf("symbol %d got %d of %d trades", i, s, n)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Rate: -1},
		{Rate: math.NaN()},
		{Symbols: []string{"OK", ""}},
		{Count: 1 << 20},
		{Volatility: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	g, _ := New(Config{})
	if len(g.Symbols()) != 32 || g.Symbols()[0] != "AAA" || g.Symbols()[27] != "ABB" {
		t.Errorf("default names %v", g.Symbols()[:3])
	}
	if g.Next().TsEvent <= DefaultStart.UnixNano() || g.Rate() != 1000 {
		t.Error("defaults not applied")
	}
}

func BenchmarkNext(b *testing.B) {
	g, _ := New(Config{})
	b.ReportAllocs()
	var sink Trade
	for i := 0; i < b.N; i++ {
		sink = g.Next()
	}
	benchTrade = sink
}

var benchTrade Trade
