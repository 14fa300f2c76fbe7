package hugepage

import (
	"testing"
	"unsafe"
)

// TestAdvise: the hint takes any slice, empty, small or spanning several
// huge pages at any alignment, and leaves its contents as they were.
func TestAdvise(t *testing.T) {
	Advise([]uint32(nil))
	Advise(make([]uint32, 3))
	s := make([]uint64, 5<<20/8)
	for i := range s {
		s[i] = uint64(i) * 7
	}
	Advise(s)
	Advise(s[1:]) // unaligned start
	for i := range s {
		if s[i] != uint64(i)*7 {
			t.Fatalf("s[%d] = %d after the hint", i, s[i])
		}
	}
}

// TestBytes: the buffer is empty, of the capacity asked, starts on a huge
// page boundary and holds what is written to it.
func TestBytes(t *testing.T) {
	for _, n := range []int{1, 4096, Size, 3*Size + 5} {
		b := Bytes(n)
		if len(b) != 0 || cap(b) != n {
			t.Fatalf("Bytes(%d): len %d cap %d", n, len(b), cap(b))
		}
		b = b[:n]
		if p := uintptr(unsafe.Pointer(&b[0])); p%Size != 0 {
			t.Fatalf("Bytes(%d) starts at %#x, not on a %d boundary", n, p, Size)
		}
		for i := range b {
			b[i] = byte(i)
		}
		for i := range b {
			if b[i] != byte(i) {
				t.Fatalf("Bytes(%d)[%d] = %d", n, i, b[i])
			}
		}
	}
}
