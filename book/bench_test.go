package book

import (
	"fmt"
	"testing"

	"github.com/tickd/tickd/tick"
)

var (
	sinkResult Result
	sinkInt    int
	sinkFloat  float64
)

// applier is what the benchmarks drive: Books or the naive reference, handed
// events in chunks of up to chunk, as a ring consumer would get them.
type applier func(evs []tick.Event)

const chunk = 64

// benchStream applies a generated stream (adds, cancels, deletes, executions,
// replaces around moving mids over 256 symbols, 1% unknown references) to a
// book already holding live orders, one message per op. Events are generated
// in batches of 64Ki outside the timer, so ns/op is the cost of applying alone.
func benchStream(b *testing.B, live int, apply applier) {
	g := newGen(42, 256, live, 10)
	batch := make([]tick.Event, 1<<16)
	// Warm up untimed: fill to live, then churn so level slices reach their
	// steady-state capacity.
	for n := g.fill(batch); n > 0; n = g.fill(batch) {
		apply(batch[:n])
	}
	for range max(live, 1<<18) / len(batch) {
		for i := range batch {
			g.next(&batch[i])
		}
		apply(batch)
	}
	b.SetBytes(tick.EventSize)
	b.ReportAllocs()
	pos := len(batch)
	b.ResetTimer()
	for done := 0; done < b.N; {
		if pos == len(batch) {
			b.StopTimer()
			for i := range batch {
				g.next(&batch[i])
			}
			pos = 0
			b.StartTimer()
		}
		n := min(chunk, len(batch)-pos, b.N-done)
		apply(batch[pos : pos+n])
		pos += n
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

var benchSizes = []int{10_000, 1 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("live=%dM", n>>20)
	}
	return fmt.Sprintf("live=%dk", n/1000)
}

func BenchmarkApply(b *testing.B) {
	for _, live := range benchSizes {
		b.Run(sizeName(live), func(b *testing.B) {
			books, err := New(Options{ExpectedOrders: live + live/4, Symbols: 256})
			if err != nil {
				b.Fatal(err)
			}
			benchStream(b, live, func(evs []tick.Event) {
				for i := range evs {
					sinkResult = books.Apply(&evs[i])
				}
			})
			if g := books.Count(ReasonGrowTable) + books.Count(ReasonGrowSlab); g != 0 {
				b.Fatalf("grew %d times", g)
			}
		})
	}
}

// BenchmarkApplyBatch is BenchmarkApply through ApplyBatch (grouped prefetch).
func BenchmarkApplyBatch(b *testing.B) {
	for _, live := range benchSizes {
		b.Run(sizeName(live), func(b *testing.B) {
			books, err := New(Options{ExpectedOrders: live + live/4, Symbols: 256})
			if err != nil {
				b.Fatal(err)
			}
			res := make([]Result, 1<<16) // the warm-up hands whole batches
			benchStream(b, live, func(evs []tick.Event) {
				books.ApplyBatch(evs, res)
				sinkResult = res[0]
			})
			if g := books.Count(ReasonGrowTable) + books.Count(ReasonGrowSlab); g != 0 {
				b.Fatalf("grew %d times", g)
			}
		})
	}
}

// BenchmarkApplyNaive is the baseline: the map-based reference book.
func BenchmarkApplyNaive(b *testing.B) {
	for _, live := range benchSizes {
		b.Run(sizeName(live), func(b *testing.B) {
			r := newRefBook()
			benchStream(b, live, func(evs []tick.Event) {
				for i := range evs {
					_, sinkResult.Qty, _ = r.apply(&evs[i])
				}
			})
		})
	}
}

// BenchmarkQueries reads the top of book, 10 levels of depth and the 5-level
// imbalance of a populated book.
func BenchmarkQueries(b *testing.B) {
	books, err := New(Options{ExpectedOrders: 20_000})
	if err != nil {
		b.Fatal(err)
	}
	g := newGen(3, 1, 10_000, 0)
	var ev tick.Event
	for range 10_000 {
		g.add(&ev)
		books.Apply(&ev)
	}
	bk := books.Book(0)
	var depth [10]Level
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		bid, _ := bk.BestBid()
		n := bk.Depth(tick.SideSell, depth[:])
		imb, _ := bk.Imbalance(5)
		sinkInt += int(bid.Shares) + n
		sinkFloat += imb
	}
}
