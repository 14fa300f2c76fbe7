package ringbuf

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tickd/tickd/tick"
)

// sink keeps the consumers' work observable so it is not optimised away.
var sink uint64

// fill writes event i into e the way a decoder would: every field.
func fill(e *tick.Event, i uint64) {
	*e = tick.Event{Seq: i, TsEvent: int64(i), Price: tick.Price(i), Qty: 100, Kind: tick.KindTrade}
}

// benchRing moves b.N events from a producer goroutine that reserves up to
// per slots at a time to a consumer that takes whatever batch is ready.
func benchRing(b *testing.B, w WaitStrategy, per int) {
	r, err := New[tick.Event](Options{Capacity: benchCap, Wait: w})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(tick.EventSize)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := 0; i < b.N; {
			s := r.Reserve(min(per, b.N-i))
			for j := range s {
				fill(&s[j], uint64(i+j))
			}
			r.Commit(len(s))
			i += len(s)
		}
		r.Close()
	}()
	c := r.Consumer(0)
	var sum uint64
	for {
		s, ok := c.Wait()
		if !ok {
			break
		}
		for j := range s {
			sum += s[j].Seq
		}
		c.Release(len(s))
	}
	sink = sum
}

// BenchmarkRing is the ring handoff: single reserves one slot per Commit,
// batchN reserves up to N; the consumer always takes the whole ready batch.
func BenchmarkRing(b *testing.B) {
	for _, per := range []int{1, 16, 64} {
		name := "single"
		if per > 1 {
			name = "batch" + strconv.Itoa(per)
		}
		b.Run(name, func(b *testing.B) { benchRing(b, SpinYield, per) })
	}
}

// BenchmarkRingWait is the single-slot handoff under each wait strategy.
func BenchmarkRingWait(b *testing.B) {
	for _, w := range []WaitStrategy{Spin, SpinYield, Park} {
		b.Run(w.String(), func(b *testing.B) { benchRing(b, w, 1) })
	}
}

// BenchmarkChan is the baseline: a buffered channel of the same capacity in
// events, one event per send (single) or an array of 16 per send (batch16).
func BenchmarkChan(b *testing.B) {
	b.Run("single", func(b *testing.B) {
		ch := make(chan tick.Event, 4096)
		b.SetBytes(tick.EventSize)
		b.ReportAllocs()
		b.ResetTimer()
		go func() {
			var e tick.Event
			for i := 0; i < b.N; i++ {
				fill(&e, uint64(i))
				ch <- e
			}
			close(ch)
		}()
		var sum uint64
		for e := range ch {
			sum += e.Seq
		}
		sink = sum
	})
	b.Run("batch16", func(b *testing.B) {
		type batch struct {
			n  int
			ev [16]tick.Event
		}
		ch := make(chan batch, 4096/16)
		b.SetBytes(tick.EventSize)
		b.ReportAllocs()
		b.ResetTimer()
		go func() {
			var bt batch
			for i := 0; i < b.N; {
				bt.n = min(16, b.N-i)
				for j := range bt.n {
					fill(&bt.ev[j], uint64(i+j))
				}
				ch <- bt
				i += bt.n
			}
			close(ch)
		}()
		var sum uint64
		for bt := range ch {
			for j := range bt.n {
				sum += bt.ev[j].Seq
			}
		}
		sink = sum
	})
}

// Tuning knobs for experiments: RINGBUF_TUNE="spin=128,yield=256,min=8,max=256".
func init() {
	for _, kv := range strings.Split(os.Getenv("RINGBUF_TUNE"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "spin":
			spinRounds = uint32(n)
		case "yield":
			yieldRounds = uint32(n)
		case "min":
			minPause = uint32(n)
		case "max":
			maxPause = uint32(n)
		case "cap":
			benchCap = n
		}
	}
}

var benchCap = 4096
