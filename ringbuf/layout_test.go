package ringbuf

import (
	"reflect"
	"testing"
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
