package engine

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// benchRules is one rule of each type, bound to every symbol.
var benchRules = []RuleSpec{
	{ID: "level", Type: RulePrice, Level: 100 * tick.PriceScale, Hysteresis: 0.05, Cooldown: time.Second},
	{ID: "move", Type: RuleMove, Percent: 0.5, Window: time.Minute, Hysteresis: 0.2, Cooldown: time.Second},
	{ID: "cross", Type: RuleCross, Fast: 2 * time.Second, Slow: 20 * time.Second, Hysteresis: 0.01, Cooldown: time.Second},
	{ID: "z", Type: RuleZScore, K: 2, Hysteresis: 0.5, Cooldown: time.Second},
	{ID: "vol", Type: RuleVolume, K: 3, Window: time.Second, Hysteresis: 1, Cooldown: time.Second},
}

// benchEvents is a random walk over nsym symbols, round robin, each symbol
// trading every 20 ms of event time (50 a second) on average.
func benchEvents(nsym int) []tick.Event {
	evs := genStream(1, 0, nsym, 1<<16)
	step := 20 * int64(time.Millisecond) / int64(nsym)
	for i := range evs {
		evs[i].TsEvent = t0 + int64(i)*step + int64(i%7)*step/8
		evs[i].Symbol = tick.SymbolID(i % nsym)
	}
	return evs
}

// shiftTimes moves evs on by their span so a replay continues in time.
func shiftTimes(evs []tick.Event) {
	span := evs[len(evs)-1].TsEvent - evs[0].TsEvent + 1
	for i := range evs {
		evs[i].TsEvent += span
	}
}

var sinkOut int

// BenchmarkTrade measures the per-trade engine update: every statistic
// (SMA/stddev/z over 50, EMA, session VWAP/min/max, windows of 1 s and 60 s,
// 1 s and 1 m bars) and five rules, on one shard without goroutines.
func BenchmarkTrade(b *testing.B) {
	for _, nsym := range []int{1, 50} {
		b.Run(fmt.Sprintf("symbols=%d", nsym), func(b *testing.B) {
			names := make([]string, nsym)
			for i := range names {
				names[i] = fmt.Sprintf("SYM%d", i)
			}
			e, _ := newTestEngine(b, Config{Rules: benchRules}, names...)
			s := e.shards[0]
			evs := benchEvents(nsym)
			cons := s.out.ring.Consumer(0)
			for i := 0; i < len(evs); i += 64 { // first sight allocates each symbol's state
				s.process(evs[i : i+64])
				drain(s.out.ring)
			}
			shiftTimes(evs)
			b.SetBytes(tick.EventSize)
			b.ReportAllocs()
			b.ResetTimer()
			for i, j := 0, 0; i < b.N; i += 64 {
				if j == len(evs) {
					b.StopTimer()
					shiftTimes(evs)
					j = 0
					b.StartTimer()
				}
				n := min(64, b.N-i, len(evs)-j)
				s.process(evs[j : j+n])
				j += n
				for out := cons.Poll(); len(out) > 0; out = cons.Poll() {
					sinkOut += len(out)
					cons.Release(len(out))
				}
			}
		})
	}
}

// naive is the baseline: state in a map keyed by symbol name, statistics
// recomputed over slices of history, EMA through math.Exp2, bars and rules
// written the obvious way.
type naive struct {
	states map[string]*naiveSym
	sink   float64
}

type naiveTrade struct {
	t int64
	p float64
	q int64
}

type naiveSym struct {
	last    []float64    // last N prices
	hist    []naiveTrade // trades of the last 60 s
	ema     float64
	fast    float64
	slow    float64
	emaT    int64
	pq, vol float64
	lo, hi  float64
	barOpen [2]bool
	bar     [2]naiveTrade // start, last price, volume
	armed   [5]bool
}

func (n *naive) trade(name string, t int64, p float64, q int64) {
	s := n.states[name]
	if s == nil {
		s = &naiveSym{lo: p, hi: p, ema: p, fast: p, slow: p, emaT: t}
		n.states[name] = s
	}
	// SMA, stddev, z over the last 50.
	s.last = append(s.last, p)
	if len(s.last) > 50 {
		s.last = s.last[1:]
	}
	var sum, ss float64
	for _, v := range s.last {
		sum += v
	}
	mean := sum / float64(len(s.last))
	for _, v := range s.last {
		ss += (v - mean) * (v - mean)
	}
	z := 0.0
	if sd := math.Sqrt(ss / float64(len(s.last))); sd > 0 {
		z = (p - mean) / sd
	}
	// EMAs.
	dt := float64(t - s.emaT)
	s.emaT = t
	s.ema += (1 - math.Exp2(-dt/10e9)) * (p - s.ema)
	s.fast += (1 - math.Exp2(-dt/1e9)) * (p - s.fast)
	s.slow += (1 - math.Exp2(-dt/10e9)) * (p - s.slow)
	// Session.
	s.pq += p * float64(q)
	s.vol += float64(q)
	s.lo, s.hi = math.Min(s.lo, p), math.Max(s.hi, p)
	// Windows of 1 s and 60 s by scanning the history.
	s.hist = append(s.hist, naiveTrade{t, p, q})
	for len(s.hist) > 0 && s.hist[0].t < t-60e9 {
		s.hist = s.hist[1:]
	}
	var wsum, wvol, wn, vol1, n1 float64
	for _, x := range s.hist {
		wsum += x.p
		wn++
		if x.t >= t-1e9 {
			vol1 += float64(x.q)
			n1++
		}
		wvol += float64(x.q)
	}
	ref := s.hist[0].p
	// Bars.
	for k, iv := range [2]int64{1e9, 60e9} {
		if start := t / iv * iv; !s.barOpen[k] || start != s.bar[k].t {
			s.barOpen[k], s.bar[k] = true, naiveTrade{t: start}
		}
		s.bar[k].p, s.bar[k].q = p, s.bar[k].q+q
	}
	// Rules (edge only).
	conds := [5]bool{p > 100, math.Abs(p-ref)/ref > 0.005, s.fast > s.slow, math.Abs(z) > 2, n1 > 1 && float64(q) > 3*vol1/n1}
	for k, c := range conds {
		if c && s.armed[k] {
			n.sink++
		}
		s.armed[k] = !c
	}
	n.sink += wsum/wn + wvol + s.pq/s.vol
}

// BenchmarkTradeNaive is the baseline for BenchmarkTrade.
func BenchmarkTradeNaive(b *testing.B) {
	for _, nsym := range []int{1, 50} {
		b.Run(fmt.Sprintf("symbols=%d", nsym), func(b *testing.B) {
			names := make([]string, nsym)
			for i := range names {
				names[i] = fmt.Sprintf("SYM%d", i)
			}
			evs := benchEvents(nsym)
			n := &naive{states: map[string]*naiveSym{}}
			b.SetBytes(tick.EventSize)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%len(evs) == 0 && i > 0 {
					b.StopTimer()
					shiftTimes(evs)
					b.StartTimer()
				}
				ev := &evs[i%len(evs)]
				n.trade(names[ev.Symbol], ev.TsEvent, ev.Price.Float64(), ev.Qty)
			}
			sinkOut += int(n.sink)
		})
	}
}

// BenchmarkPipeline measures the whole path per trade: a source writing
// through an Input, the shard goroutine(s), and a publisher goroutine per
// output ring, for 50 symbols.
func BenchmarkPipeline(b *testing.B) {
	for _, shards := range []int{1, 2} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			names := make([]string, 50)
			for i := range names {
				names[i] = fmt.Sprintf("SYM%d", i)
			}
			e, _ := newTestEngine(b, Config{Shards: shards, Rules: benchRules}, names...)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var published atomic.Int64
			for _, r := range e.Outputs() { // the publisher: count and release
				wg.Go(func() {
					c := r.Consumer(0)
					for {
						b, ok := c.Wait()
						if !ok {
							return
						}
						published.Add(int64(len(b)))
						c.Release(len(b))
					}
				})
			}
			wg.Go(func() { _ = e.Run(ctx) })
			in, err := e.NewInput("bench")
			if err != nil {
				b.Fatal(err)
			}
			evs := benchEvents(50)
			b.SetBytes(tick.EventSize)
			b.ReportAllocs()
			b.ResetTimer()
			for i, j := 0, 0; i < b.N; {
				if j == len(evs) {
					shiftTimes(evs)
					j = 0
				}
				slots := in.Claim(min(64, b.N-i, len(evs)-j))
				k := copy(slots, evs[j:])
				in.Commit(k)
				i, j = i+k, j+k
			}
			in.Close()
			cancel()
			wg.Wait()
			sinkOut += int(published.Load())
		})
	}
}
