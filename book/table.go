package book

import "github.com/tickd/tickd/internal/hugepage"

// slot is one 16-byte table entry: the order reference and its slab index + 1
// (0 marks an empty slot, so a zeroed table is empty and refs may be any value).
type slot struct {
	ref uint64 // 8: key, compared without touching the slab
	idx uint32 // 4: slab index of the order; 0 = empty
	_   uint32 // 4: padding to keep slots 16-byte aligned (4 per cache line)
}

// table maps order references to slab indices: open addressing, linear probing,
// backward-shift deletion. Capacity is a power of two.
type table struct {
	slots []slot
	mask  uint64
	shift uint8 // 64 - log2(len(slots))
	count int
}

func newTable(capacity int) table {
	n, bits := 8, uint8(3)
	for n < capacity {
		n <<= 1
		bits++
	}
	t := table{slots: make([]slot, n), mask: uint64(n - 1), shift: 64 - bits}
	hugepage.Advise(t.slots)
	return t
}

// home is the preferred slot of ref: Fibonacci hashing spreads the dense,
// increasing references of a feed over the whole table.
func (t *table) home(ref uint64) uint64 { return (ref * 0x9E3779B97F4A7C15) >> t.shift }

// find returns the slot position and slab index of ref, or idx 0 if absent.
func (t *table) find(ref uint64) (pos uint64, idx uint32) {
	for i := t.home(ref); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.idx == 0 {
			return i, 0
		}
		if s.ref == ref {
			return i, s.idx
		}
	}
}

// insertAt stores ref at pos, which must be the empty slot find returned.
func (t *table) insertAt(pos uint64, ref uint64, idx uint32) {
	t.slots[pos] = slot{ref: ref, idx: idx}
	t.count++
}

// deleteAt empties pos and shifts back the entries of its probe run that would
// otherwise become unreachable, so no tombstones are left behind.
func (t *table) deleteAt(pos uint64) {
	i := pos
	for j := (i + 1) & t.mask; t.slots[j].idx != 0; j = (j + 1) & t.mask {
		h := t.home(t.slots[j].ref)
		// Move j to the hole at i unless its home lies cyclically in (i, j].
		if (j-h)&t.mask >= (j-i)&t.mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot{}
	t.count--
}

// overLoaded reports whether one more entry would push the load above num/den.
func (t *table) overLoaded(num, den int) bool { return (t.count+1)*den > len(t.slots)*num }

// grow rehashes into a table twice the size (slow path, allocates).
func (t *table) grow() {
	old := t.slots
	*t = newTable(len(old) * 2)
	for _, s := range old {
		if s.idx != 0 {
			pos, _ := t.find(s.ref)
			t.insertAt(pos, s.ref, s.idx)
		}
	}
}
