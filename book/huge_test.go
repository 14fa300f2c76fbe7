package book

import "testing"

// TestAdviseHuge: the hint takes any slice, empty, small or spanning
// several huge pages at any alignment, and leaves its contents as they were.
func TestAdviseHuge(t *testing.T) {
	adviseHuge([]uint32(nil))
	adviseHuge(make([]uint32, 3))
	s := make([]uint64, 5<<20/8)
	for i := range s {
		s[i] = uint64(i) * 7
	}
	adviseHuge(s)
	adviseHuge(s[1:]) // unaligned start
	for i := range s {
		if s[i] != uint64(i)*7 {
			t.Fatalf("s[%d] = %d after the hint", i, s[i])
		}
	}
}
