package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tickd/tickd/tick"
)

// TestSlot: the multiply that replaces id / shards is exact for every
// shard count and every 32-bit id.
func TestSlot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for d := uint32(1); d <= MaxShards; d++ {
		s := shard{nshInv: divInv(d)}
		ids := []uint32{0, 1, d - 1, d, d + 1, 2*d - 1, math.MaxUint32, math.MaxUint32 - 1, math.MaxUint32 / d * d, math.MaxUint32/d*d - 1}
		for range 2000 {
			ids = append(ids, r.Uint32())
		}
		for _, id := range ids {
			if got := s.slot(tick.SymbolID(id)); got != id/d {
				t.Fatalf("slot(%d) with %d shards = %d, want %d", id, d, got, id/d)
			}
		}
	}
}
