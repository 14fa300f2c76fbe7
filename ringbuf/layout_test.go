package ringbuf

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/tickd/tickd/tick"
)

// TestCursorLinesAlone checks the padding: whatever the struct's alignment
// in memory, no 64-byte line holding a shared cursor holds another field.
func TestCursorLinesAlone(t *testing.T) {
	alone := func(typ reflect.Type, name string) {
		f, _ := typ.FieldByName(name)
		lo, hi := f.Offset, f.Offset+f.Type.Size()
		for i := range typ.NumField() {
			g := typ.Field(i)
			if g.Name == "_" || g.Name == name {
				continue
			}
			glo, ghi := g.Offset, g.Offset+g.Type.Size()
			var gap uintptr
			if ghi <= lo {
				gap = lo - ghi
			} else {
				gap = glo - hi
			}
			if gap < cacheLine-(hi-lo) {
				t.Errorf("%s.%s shares a cache line with %s (gap %d)", typ.Name(), name, g.Name, gap)
			}
		}
	}
	alone(reflect.TypeFor[Ring[int]](), "published")
	alone(reflect.TypeFor[Consumer[int]](), "cursor")
	if cacheLine != 64 {
		t.Logf("cache line pad is %d bytes on this architecture", cacheLine)
	}
}

// TestSlotsOnLines checks that slots of one or more whole cache lines start
// on a line, so that a tick.Event slot never straddles two lines and the
// producer's sequential writes fill whole lines. New does nothing special:
// Go's allocator places every block whose size is a multiple of 64 bytes
// (each size class from 64 bytes up, and every page-sized block) on a 64-byte
// boundary, and this test pins that down.
func TestSlotsOnLines(t *testing.T) {
	if unsafe.Sizeof(tick.Event{}) != cacheLine {
		t.Skipf("tick.Event is %d bytes, the cache line pad %d", unsafe.Sizeof(tick.Event{}), cacheLine)
	}
	type twoLines [2 * cacheLine]byte
	check := func(what string, n int, p unsafe.Pointer) {
		if off := uintptr(p) % cacheLine; off != 0 {
			t.Errorf("%s, capacity %d: slots start %d bytes into a cache line", what, n, off)
		}
	}
	for _, n := range []int{1, 2, 16, 64, DefaultCapacity, 1 << 16} {
		for range 3 { // a few, so that some land mid-span
			check("tick.Event", n, unsafe.Pointer(&newRing[tick.Event](t, Options{Capacity: n}).buf[0]))
			check("two lines", n, unsafe.Pointer(&newRing[twoLines](t, Options{Capacity: n}).buf[0]))
		}
	}
}
