package ringbuf

import (
	"testing"

	"github.com/tickd/tickd/tick"
)

func BenchmarkExpStats(b *testing.B) {
	r, _ := New[tick.Event](Options{Capacity: benchCap})
	b.SetBytes(64)
	go func() {
		for i := 0; i < b.N; {
			s := r.Reserve(1)
			fill(&s[0], uint64(i))
			r.Commit(1)
			i++
		}
		r.Close()
	}()
	c := r.Consumer(0)
	n, batches := 0, 0
	var sum uint64
	for {
		s, ok := c.Wait()
		if !ok {
			break
		}
		for j := range s {
			sum += s[j].Seq
		}
		n += len(s)
		batches++
		c.Release(len(s))
	}
	sink = sum
	b.ReportMetric(float64(n)/float64(batches), "ev/batch")
}
