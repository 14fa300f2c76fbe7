package ringbuf

import (
	"testing"

	"github.com/tickd/tickd/tick"
)

func BenchmarkExpNoRead(b *testing.B) {
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
	n := 0
	for {
		s, ok := c.Wait()
		if !ok {
			break
		}
		n += len(s)
		c.Release(len(s))
	}
	sink = uint64(n)
}

func BenchmarkExpProducerOnly(b *testing.B) {
	r, _ := New[tick.Event](Options{Capacity: benchCap})
	b.SetBytes(64)
	c := r.Consumer(0)
	for i := 0; i < b.N; i++ {
		s := r.Reserve(1)
		fill(&s[0], uint64(i))
		r.Commit(1)
		if i&1023 == 1023 {
			for {
				s := c.Poll()
				if len(s) == 0 {
					break
				}
				c.Release(len(s))
			}
		}
	}
}
