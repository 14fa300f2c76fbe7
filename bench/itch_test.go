package bench

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/sim/itchsim"
	"github.com/tickd/tickd/tick"
)

// The realistic stream: a simulated ITCH session over itchSymbols symbols
// holding about itchLive resting orders once warmed up (the generator ramps
// up to it and holds a little under it: just over 1M), with the order-table
// locality of a real feed (see itchsim).
const (
	itchSymbols = 1000
	itchLive    = 1_016_000
	itchWarmup  = 4_000_000 // messages applied before timing: the book is at its peak size
	itchChunk   = 1 << 20   // messages generated (untimed) per refill
	itchBatch   = 256       // events decoded per Process call, as a feed source claims them
)

// stream generates framed ITCH into a reused buffer, a chunk at a time.
type stream struct {
	gen  *itchsim.Generator
	buf  []byte
	off  int
	msgs int // left in buf
}

func newStream(b *testing.B) *stream {
	g, err := itchsim.New(itchsim.Config{Count: itchSymbols, Seed: 42, LiveOrders: itchLive, Rate: 20000})
	if err != nil {
		b.Fatal(err)
	}
	return &stream{gen: g, buf: make([]byte, 0, itchChunk*40)}
}

// refill generates the next chunk (call with the timer stopped).
func (s *stream) refill(b *testing.B) {
	s.buf, s.off, s.msgs = s.buf[:0], 0, 0
	for range itchChunk {
		n := len(s.buf)
		s.buf = append(s.buf, 0, 0)
		var ok bool
		if s.buf, ok = s.gen.Next(s.buf); !ok {
			b.Fatal("itchsim: session ended")
		}
		binary.BigEndian.PutUint16(s.buf[n:], uint16(len(s.buf)-n-2))
		s.msgs++
	}
}

// next returns the next message; the caller keeps msgs > 0.
func (s *stream) next() []byte {
	n := int(binary.BigEndian.Uint16(s.buf[s.off:]))
	m := s.buf[s.off+2 : s.off+2+n]
	s.off += 2 + n
	s.msgs--
	return m
}

// pipeline is what a benchmark runs per batch of decoded events.
type pipeline struct {
	name  string
	setup func(b *testing.B, syms *tick.SymbolTable) func(evs []tick.Event)
}

var sinkOuts int

var pipelines = []pipeline{
	{"decode", func(*testing.B, *tick.SymbolTable) func([]tick.Event) {
		return func(evs []tick.Event) { sinkOuts += len(evs) }
	}},
	{"decode+book", func(b *testing.B, _ *tick.SymbolTable) func([]tick.Event) {
		bk, err := book.New(book.Options{ExpectedOrders: itchLive, Symbols: itchSymbols + 1})
		if err != nil {
			b.Fatal(err)
		}
		res := make([]book.Result, itchBatch)
		return func(evs []tick.Event) { bk.ApplyBatch(evs, res) }
	}},
	{"decode+book+stats", func(b *testing.B, syms *tick.SymbolTable) func([]tick.Event) {
		st, err := engine.NewStep(engine.Config{BookOrders: itchLive,
			Rules: append(engine.DefaultRules(), engine.DefaultBookRules()...)}, syms)
		if err != nil {
			b.Fatal(err)
		}
		count := func(*tick.Out) { sinkOuts++ }
		return func(evs []tick.Event) { st.Process(evs, count) }
	}},
}

// BenchmarkITCH runs one core's whole ITCH path over a realistic session
// at just over 1M live orders: framed messages decoded from memory into a
// batch of events, then (per sub-benchmark) nothing more, the L3 books, or
// the engine (books, every statistic, the eight default trade and book
// rules, bars and BBO records). One op is one message; msgs/s is reported.
// Run it over ≥50M messages with -benchtime 50000000x. live-orders is the
// book's size after the warm-up, peak-live-orders the most live at once;
// B/order is the heap the pipeline (decoder, symbols, books, engine) holds
// then, per live order, the generator's own order model excluded.
func BenchmarkITCH(b *testing.B) {
	for _, p := range pipelines {
		b.Run(p.name, func(b *testing.B) {
			s := newStream(b) // before the baseline: its own order model is not the pipeline's
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			syms := tick.NewSymbolTable(tick.DefaultMaxSymbols)
			dec, err := itch.NewDecoder(itch.Options{Symbols: syms})
			if err != nil {
				b.Fatal(err)
			}
			apply := p.setup(b, syms)
			evs := make([]tick.Event, itchBatch)
			run := func(n int, timed bool) {
				k := 0
				for range n {
					if s.msgs == 0 {
						if timed {
							b.StopTimer()
						}
						s.refill(b)
						if timed {
							b.StartTimer()
						}
					}
					if ok, _ := dec.Decode(s.next(), &evs[k]); ok {
						if k++; k == len(evs) {
							apply(evs)
							k = 0
						}
					}
				}
				apply(evs[:k])
			}
			run(itchWarmup, false)
			live := s.gen.Stats().Live
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if c := dec.Counters(); c.Rejected() != 0 {
				b.Fatalf("decoder rejected %d messages", c.Rejected())
			}
			b.ReportAllocs()
			b.ResetTimer()
			run(b.N, true)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(live), "live-orders")
			b.ReportMetric(float64(s.gen.Stats().PeakLive), "peak-live-orders")
			if p.name != "decode" {
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(live), "B/order")
			}
		})
	}
}

// TestITCHStreamIsConsistent: the benchmark's stream applies to the books
// without a rejected event, so the figures measure real book work.
func TestITCHStreamIsConsistent(t *testing.T) {
	g, err := itchsim.New(itchsim.Config{Count: 50, Seed: 42, LiveOrders: 20000})
	if err != nil {
		t.Fatal(err)
	}
	syms := tick.NewSymbolTable(1024)
	dec, err := itch.NewDecoder(itch.Options{Symbols: syms})
	if err != nil {
		t.Fatal(err)
	}
	bk, err := book.New(book.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	var ev tick.Event
	for range 300_000 {
		var ok bool
		if buf, ok = g.Next(buf[:0]); !ok {
			t.Fatal("session ended")
		}
		if ok, err := dec.Decode(buf, &ev); err != nil {
			t.Fatal(err)
		} else if ok {
			if r := bk.Apply(&ev); r.Flags&book.FlagRejected != 0 {
				t.Fatalf("book rejected %v: %v", ev.Kind, r.Reason)
			}
		}
	}
	if bk.Orders() < 15000 {
		t.Fatalf("%d live orders, want near 20000", bk.Orders())
	}
}
