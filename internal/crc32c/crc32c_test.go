package crc32c

import (
	"bytes"
	"hash/crc32"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestMatchesHashCRC32: Update and CopyUpdate agree with hash/crc32 on
// every length across the fold thresholds and block boundaries, from
// unaligned starts and from several initial CRCs, and CopyUpdate copies
// exactly its input.
func TestMatchesHashCRC32(t *testing.T) {
	if !canFold {
		t.Log("this CPU has no AVX-512 VPCLMULQDQ: checking the hash/crc32 path only")
	}
	r := rand.New(rand.NewPCG(7, 11))
	buf := make([]byte, 40<<10+64)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	var lengths []int
	for n := range 3 * 256 {
		lengths = append(lengths, n, minFold-256+n, minFold+n, 5*minFold+n)
	}
	lengths = append(lengths, 40<<10)
	dst := make([]byte, len(buf)+1)
	for i, n := range lengths {
		off := i % 64
		p := buf[off : off+n]
		for _, c0 := range []uint32{0, 0xFFFFFFFF, r.Uint32()} {
			want := crc32.Update(c0, table, p)
			if got := Update(c0, p); got != want {
				t.Fatalf("Update(%#x, %d bytes at +%d) = %#08x, want %#08x", c0, n, off, got, want)
			}
			clear(dst)
			d := dst[1+off%7:]
			if got := CopyUpdate(d, p, c0); got != want {
				t.Fatalf("CopyUpdate(%#x, %d bytes at +%d) = %#08x, want %#08x", c0, n, off, got, want)
			}
			if !bytes.Equal(d[:n], p) || bytes.ContainsFunc(d[n:], func(r rune) bool { return r != 0 }) || dst[0] != 0 {
				t.Fatalf("CopyUpdate(%d bytes at +%d): the copy differs or spills", n, off)
			}
		}
	}
}

// TestFoldConstants derives the constants in fold_amd64.s from the
// polynomial: reflect64(x^(2048+63) mod P) and reflect64(x^2047 mod P).
func TestFoldConstants(t *testing.T) {
	xpow := func(n int) uint64 { // x^n mod P, P = Castagnoli in normal form
		r := uint32(1)
		for range n {
			hi := r & 0x80000000
			r <<= 1
			if hi != 0 {
				r ^= 0x1EDC6F41
			}
		}
		return bits.Reverse64(uint64(r))
	}
	if lo, hi := xpow(2048+63), xpow(2048-1); lo != 0xe9a5d8be00000000 || hi != 0x1426a81500000000 {
		t.Errorf("fold constants: %#x, %#x; fold_amd64.s has 0xe9a5d8be00000000, 0x1426a81500000000", lo, hi)
	}
}

func TestCopyUpdateShortDst(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("CopyUpdate into a shorter dst did not panic")
		}
	}()
	CopyUpdate(make([]byte, 10), make([]byte, 11), 0)
}

func FuzzUpdate(f *testing.F) {
	f.Add(uint32(0), bytes.Repeat([]byte{0xA5}, 3000))
	f.Add(uint32(0xdeadbeef), make([]byte, minFold))
	f.Fuzz(func(t *testing.T, c0 uint32, p []byte) {
		want := crc32.Update(c0, table, p)
		if got := Update(c0, p); got != want {
			t.Fatalf("Update(%#x, %d bytes) = %#08x, want %#08x", c0, len(p), got, want)
		}
		d := make([]byte, len(p))
		if got := CopyUpdate(d, p, c0); got != want || !bytes.Equal(d, p) {
			t.Fatalf("CopyUpdate(%#x, %d bytes) = %#08x, want %#08x (copy equal: %v)", c0, len(p), got, want, bytes.Equal(d, p))
		}
	})
}

// TestNoAllocs: neither path allocates, folded or not.
func TestNoAllocs(t *testing.T) {
	src, dst := make([]byte, 3*minFold+100), make([]byte, 3*minFold+100)
	for _, n := range []int{100, len(src)} {
		if a := testing.AllocsPerRun(50, func() { sinkCRC = Update(sinkCRC, src[:n]) }); a != 0 {
			t.Errorf("Update of %d bytes: %v allocs", n, a)
		}
		if a := testing.AllocsPerRun(50, func() { sinkCRC = CopyUpdate(dst, src[:n], sinkCRC) }); a != 0 {
			t.Errorf("CopyUpdate of %d bytes: %v allocs", n, a)
		}
	}
}
