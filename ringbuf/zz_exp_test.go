package ringbuf

import (
	"sync/atomic"
	"testing"

	"github.com/tickd/tickd/tick"
)

type minRing struct {
	_    [64]byte
	pub  atomic.Int64
	_    [56]byte
	cons atomic.Int64
	_    [56]byte
	buf  [4096]tick.Event
}

func benchMin(b *testing.B, per int) {
	r := new(minRing)
	b.SetBytes(64)
	go func() {
		var next, gate int64
		for i := 0; i < b.N; {
			per := min(per, b.N-i)
			for next+int64(per)-gate > 4096 {
				gate = r.cons.Load()
			}
			for j := 0; j < per; j++ {
				fill(&r.buf[(next+int64(j))&4095], uint64(i+j))
			}
			next += int64(per)
			r.pub.Store(next)
			i += per
		}
	}()
	var pos, sum uint64
	for pos < uint64(b.N) {
		p := uint64(r.pub.Load())
		for ; pos < p; pos++ {
			sum += r.buf[pos&4095].Seq
		}
		r.cons.Store(int64(pos))
	}
	sink += sum
}

func BenchmarkMin(b *testing.B) {
	b.Run("single", func(b *testing.B) { benchMin(b, 1) })
	b.Run("batch16", func(b *testing.B) { benchMin(b, 16) })
	b.Run("batch64", func(b *testing.B) { benchMin(b, 64) })
}
