package bench

import (
	"testing"
	"time"

	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// BenchmarkFused is the hot cost per tick of what `tickd bench -inproc
// -fused` times: one native trade frame decoded into an engine.Step (the
// bench's price rule, every default statistic) and its signal handed to
// the caller, one tick per batch as a paced feed delivers them. The
// sub-benchmarks are by the share of ticks that fire; decode-only is the
// floor beside them (the same frames, decoded and dropped).
func BenchmarkFused(b *testing.B) {
	for _, c := range []struct {
		name   string
		ratio  float64
		engine bool
	}{{"every-tick-fires", 1, true}, {"one-in-ten-fires", 0.1, true}, {"decode-only", 1, false}} {
		b.Run(c.name, func(b *testing.B) {
			syms := tick.NewSymbolTable(1024)
			st, err := engine.NewStep(engine.Config{Rules: []engine.RuleSpec{PriceRule(DefaultLevel)}, Bars: []time.Duration{time.Hour}}, syms)
			if err != nil {
				b.Fatal(err)
			}
			signals := 0
			var sink batchSink = &stepSink{st: st, slots: make([]tick.Event, inprocBatch), emit: func(out *tick.Out) {
				if out.Kind == tick.OutSignal {
					signals++
				}
			}}
			if !c.engine {
				sink = &dropSink{slots: make([]tick.Event, inprocBatch)}
			}
			dec, err := feed.NewDecoder("bench", 1, feed.Options{Format: feed.FormatNative, Symbols: syms})
			if err != nil {
				b.Fatal(err)
			}
			t := newTicks(DefaultSymbols, c.ratio, DefaultLevel)
			enc := &encoder{f: feed.FormatNative, names: t.names}
			// The frames of ticks base … base+n−1, one µs apart in event
			// time; renewed as the loop wraps, so that time moves on and no
			// trade is clamped as earlier than its symbol's last.
			const n = 1 << 16
			frames := make([][]byte, n)
			encode := func(base int64) {
				for k := range frames {
					i := base + int64(k)
					sym, px := t.next(i)
					frames[k] = enc.trade(frames[k][:0], i, sym, i*int64(time.Microsecond), px)
				}
			}
			encode(0)
			if !feedAll(dec, sink, enc.start(nil)) {
				b.Fatal("the hello frame was refused")
			}
			b.SetBytes(int64(len(frames[0])))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i&(n-1) == 0 && i > 0 {
					b.StopTimer()
					encode(int64(i))
					b.StartTimer()
				}
				feedAll(dec, sink, frames[i&(n-1)])
			}
			b.StopTimer()
			if cnt := st.Counters(); c.engine && cnt.OutOfOrder != 0 {
				b.Fatalf("%d trades out of order", cnt.OutOfOrder)
			}
			if c.engine && c.ratio == 1 && signals < b.N/2 {
				b.Fatalf("%d signals from %d ticks that each cross the level", signals, b.N)
			}
		})
	}
}

// dropSink takes decoded events and drops them.
type dropSink struct{ slots []tick.Event }

func (d *dropSink) Claim(n int) []tick.Event { return d.slots[:max(1, min(n, len(d.slots)))] }
func (d *dropSink) Commit(int)               {}
