package crc32c

import (
	"hash/crc32"
	"strconv"
	"testing"
)

var sinkCRC uint32

// BenchmarkUpdate: the fold against hash/crc32 (SSE4.2, three streams), the
// baseline, around minFold, on a capture block (64 KiB) and a direct-write
// stage (8 MiB). (Below minFold Update is hash/crc32: fold/512 is too.)
func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{512, 1 << 10, 4 << 10, 64 << 10, 8 << 20} {
		p := make([]byte, n)
		b.Run("fold/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				sinkCRC = Update(sinkCRC, p)
			}
		})
		b.Run("hash-crc32/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				sinkCRC = crc32.Update(sinkCRC, table, p)
			}
		})
	}
}

// BenchmarkCopyUpdate: the fused copy and checksum against copy then
// hash/crc32.
func BenchmarkCopyUpdate(b *testing.B) {
	for _, n := range []int{64 << 10, 8 << 20} {
		src, dst := make([]byte, n), make([]byte, n)
		b.Run("fused/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				sinkCRC = CopyUpdate(dst, src, sinkCRC)
			}
		})
		b.Run("copy+hash-crc32/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				copy(dst, src)
				sinkCRC = crc32.Update(sinkCRC, table, src)
			}
		})
	}
}
