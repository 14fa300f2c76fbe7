package ringbuf

import (
	"sync/atomic"
	"testing"

	"github.com/tickd/tickd/internal/release"
	"github.com/tickd/tickd/tick"
)

// Every benchmark moves b.N tick.Events (64 bytes, one cache line) from a
// producer goroutine to a consumer goroutine (the benchmark's own), so ns/op
// is per event and MB/s counts event bytes. Two costs bound them, whatever
// the ring does: every event is a cache line that crosses cores, and so is
// published, which the producer stores on every Commit. (Under Park, or
// with a Bell, each store is also an XCHG, a full fence that waits for the
// event's line to reach the other core: BenchmarkRingWait/park.)
// BenchmarkFloor is the same hand-off with nothing but two cursors.
// events/batch is how many events the consumer found per Wait.

// sink keeps the consumers' work observable so it is not optimised away.
var sink uint64

// fill writes event i into e the way a decoder would: every field, one
// store each. (Assigning a composite literal, *e = tick.Event{...}, makes
// the gc compiler build the event in a stack temporary and copy it with
// 16-byte moves that stall on store forwarding: ~5 ns per event here, more
// than the whole batched hand-off.)
func fill(e *tick.Event, i uint64) {
	e.Seq, e.TsEvent, e.TsRecv, e.Price = i, int64(i), 0, tick.Price(i)
	e.Qty, e.OrderRef, e.NewRef = 100, 0, 0
	e.Symbol, e.Kind, e.Side, e.Source = 0, tick.KindTrade, tick.SideNone, 0
}

// benchRing: the producer reserves up to per slots at a time and commits
// them; the consumer takes whatever batch is ready and releases it whole.
func benchRing(b *testing.B, w WaitStrategy, per int) {
	r, err := New[tick.Event](Options{Capacity: 4096, Wait: w})
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
	batches := 0
	for {
		s, ok := c.Wait()
		if !ok {
			break
		}
		for j := range s {
			sum += s[j].Seq
		}
		c.Release(len(s))
		batches++
	}
	sink = sum
	b.ReportMetric(float64(b.N)/float64(max(batches, 1)), "events/batch")
}

// BenchmarkRing is the ring hand-off under the default strategy: single
// reserves and commits one slot per event, batchN up to N per Commit.
func BenchmarkRing(b *testing.B) {
	b.Run("single", func(b *testing.B) { benchRing(b, SpinYield, 1) })
	b.Run("batch16", func(b *testing.B) { benchRing(b, SpinYield, 16) })
	b.Run("batch64", func(b *testing.B) { benchRing(b, SpinYield, 64) })
}

// BenchmarkRingWait is the single-slot hand-off under each wait strategy.
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

// floorRing is the least a ring can do: one padded published cursor, one
// consumer cursor, busy-wait loops and no API. It is the floor Ring is
// measured against, not a usable queue (it never yields). buf sits 192
// bytes into a page-aligned block, so its slots start on cache lines.
type floorRing struct {
	_    [cacheLine]byte
	pub  atomic.Int64
	_    [cacheLine - 8]byte
	cons atomic.Int64
	_    [cacheLine - 8]byte
	buf  [4096]tick.Event
}

// producerState stands for a ring's producer-private fields, on a line of
// their own.
type producerState struct {
	_    [cacheLine]byte
	next int64
	_    [cacheLine - 8]byte
}

// BenchmarkFloor is the same hand-off over floorRing, its cursors stored
// as Ring stores them when nothing parks (release.StoreInt64: a plain MOV on
// amd64); fenced/ stores them with sync/atomic's Store (an XCHG, a full
// fence), as Ring does under Park or with a Bell. single+store adds one
// store per event to a producer-private line, as Ring's Reserve and Commit
// keep their bookkeeping (they make three).
func BenchmarkFloor(b *testing.B) {
	run := func(b *testing.B, per int, fenced, store bool) {
		r := new(floorRing)
		ps := new(producerState)
		b.SetBytes(tick.EventSize)
		b.ReportAllocs()
		b.ResetTimer()
		go func() {
			var next, gate int64
			for i := 0; i < b.N; {
				n := int64(min(per, b.N-i))
				for next+n-gate > int64(len(r.buf)) {
					gate = r.cons.Load()
				}
				for j := range n {
					fill(&r.buf[(next+j)&int64(len(r.buf)-1)], uint64(i)+uint64(j))
				}
				next += n
				if store {
					ps.next = next
				}
				if fenced {
					r.pub.Store(next)
				} else {
					release.StoreInt64(&r.pub, next)
				}
				i += int(n)
			}
		}()
		var pos int64
		var sum uint64
		batches := 0
		for pos < int64(b.N) {
			p := r.pub.Load()
			if p == pos {
				spin(minPause) // as Ring's waiters do: don't steal the line back at once
				continue
			}
			for ; pos < p; pos++ {
				sum += r.buf[pos&int64(len(r.buf)-1)].Seq
			}
			if fenced {
				r.cons.Store(pos)
			} else {
				release.StoreInt64(&r.cons, pos)
			}
			batches++
		}
		sink = sum
		b.ReportMetric(float64(b.N)/float64(max(batches, 1)), "events/batch")
	}
	for _, fenced := range []bool{false, true} {
		prefix := ""
		if fenced {
			prefix = "fenced/"
		}
		b.Run(prefix+"single", func(b *testing.B) { run(b, 1, fenced, false) })
		b.Run(prefix+"batch16", func(b *testing.B) { run(b, 16, fenced, false) })
		b.Run(prefix+"batch64", func(b *testing.B) { run(b, 64, fenced, false) })
	}
	b.Run("single+store", func(b *testing.B) { run(b, 1, false, true) })
}

// stampedSlot is a 56-byte payload and the sequence that publishes it, on
// one cache line: the consumer polls the slot itself, not a cursor.
type stampedSlot struct {
	p     [7]uint64
	stamp atomic.Int64 // sequence+1 of the payload written, 0 never
}

type stampedRing struct {
	_    [cacheLine]byte
	cons atomic.Int64
	_    [cacheLine - 8]byte
	buf  [4096]stampedSlot
}

// BenchmarkFloorStamped is the single hand-off with no published cursor:
// each slot carries its own sequence, stored after the payload, so the
// event's line is the only one that crosses per event. It would need 8
// bytes of tick.Event (full at 64) or a slot of two lines, and is here to
// measure what that design could gain over BenchmarkFloor/single.
func BenchmarkFloorStamped(b *testing.B) {
	r := new(stampedRing)
	mask := int64(len(r.buf) - 1)
	b.SetBytes(tick.EventSize)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		var gate int64
		for i := int64(0); i < int64(b.N); i++ {
			for i+1-gate > int64(len(r.buf)) {
				gate = r.cons.Load()
			}
			s, u := &r.buf[i&mask], uint64(i)
			s.p[0], s.p[1], s.p[2], s.p[3], s.p[4], s.p[5], s.p[6] = u, u, 0, u, 100, 0, 0
			release.StoreInt64(&s.stamp, i+1)
		}
	}()
	var pos int64
	var sum uint64
	batches := 0
	for pos < int64(b.N) {
		if r.buf[pos&mask].stamp.Load() != pos+1 {
			spin(minPause)
			continue
		}
		for pos < int64(b.N) && r.buf[pos&mask].stamp.Load() == pos+1 {
			sum += r.buf[pos&mask].p[0]
			pos++
		}
		release.StoreInt64(&r.cons, pos)
		batches++
	}
	sink = sum
	b.ReportMetric(float64(b.N)/float64(max(batches, 1)), "events/batch")
}
