package release

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// TestStoreLayout: a release store writes the value Load reads, and only
// it: the neighbours of the atomic are untouched.
func TestStoreLayout(t *testing.T) {
	if unsafe.Sizeof(atomic.Int64{}) != 8 || unsafe.Sizeof(atomic.Uint64{}) != 8 {
		t.Fatal("atomic.Int64 or atomic.Uint64 is not 8 bytes: store64 would write the wrong word")
	}
	var s struct {
		before uint64
		i      atomic.Int64
		u      atomic.Uint64
		after  uint64
	}
	for _, x := range []int64{1, -1, 1 << 62, 0} {
		StoreInt64(&s.i, x)
		StoreUint64(&s.u, uint64(x)+7)
		if s.i.Load() != x || s.u.Load() != uint64(x)+7 || s.before != 0 || s.after != 0 {
			t.Fatalf("stored %d: Load %d and %d, neighbours %d and %d", x, s.i.Load(), s.u.Load(), s.before, s.after)
		}
	}
}

// TestReleaseOrder: a reader that loads a cursor stored with StoreInt64
// sees every plain write made before the store (message passing), over
// many hand-offs between two goroutines.
func TestReleaseOrder(t *testing.T) {
	const n = 1 << 16
	var data [64]uint64
	var cursor, ack atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := int64(1); i <= n; i++ {
			await(&ack, i-1)
			data[i%64] = uint64(i)
			StoreInt64(&cursor, i)
		}
	})
	for i := int64(1); i <= n; i++ {
		await(&cursor, i)
		if got := data[i%64]; got != uint64(i) {
			t.Fatalf("hand-off %d: read %d", i, got)
		}
		StoreInt64(&ack, i)
	}
	wg.Wait()
}

// await spins until v holds want, and past a few thousand loads sleeps
// between them: on a loaded machine the other goroutine's thread is off
// the CPU, and a spinner would keep it off for its whole time slice at
// every hand-off (under a load of 10, 65536 hand-offs took up to 108 s).
func await(v *atomic.Int64, want int64) {
	for spins := 0; v.Load() != want; spins++ {
		if spins >= 4096 {
			time.Sleep(time.Microsecond)
		}
	}
}
