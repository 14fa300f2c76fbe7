// Package crc32c computes CRC-32C (Castagnoli), the checksum of capture
// files (blocks, headers, indexes), the same as hash/crc32 with its
// Castagnoli table, and fused with a copy of the bytes summed.
//
// On amd64 with AVX-512 and VPCLMULQDQ, inputs of 1 KiB and more are
// folded 256 bytes at a time with carry-less multiplies (16 lanes of 128
// bits, each folded 2048 bits ahead); the 256-byte remainder is summed
// with the CRC32 instruction and the tail by hash/crc32. Folding keeps the
// message's residue modulo the CRC polynomial, so the remainder's CRC is
// the message's. The fused copy stores each block as it is loaded: one
// pass over the bytes where a copy and then a checksum make two. Elsewhere
// both are hash/crc32 and copy.
package crc32c

import "hash/crc32"

var table = crc32.MakeTable(crc32.Castagnoli)

// minFold is the shortest input folded: at 1 KiB folding (its remainder
// included) takes 36 ns against hash/crc32's 43, at 512 bytes 32 against
// 22 (BenchmarkUpdate).
const minFold = 1024

// Update returns the CRC-32C of p continued from crc, as
// crc32.Update(crc, crc32.MakeTable(crc32.Castagnoli), p) does.
func Update(crc uint32, p []byte) uint32 {
	if !canFold || len(p) < minFold {
		return crc32.Update(crc, table, p)
	}
	n := len(p) &^ 255
	return crc32.Update(^foldCopy(nil, &p[0], n/256, ^crc), table, p[n:])
}

// CopyUpdate copies src into dst, which must be at least as long, and
// returns Update(crc, src).
func CopyUpdate(dst, src []byte, crc uint32) uint32 {
	if len(dst) < len(src) {
		panic("crc32c: CopyUpdate: dst shorter than src")
	}
	if !canFold || len(src) < minFold {
		copy(dst, src)
		return crc32.Update(crc, table, src)
	}
	n := len(src) &^ 255
	raw := foldCopy(&dst[0], &src[0], n/256, ^crc)
	copy(dst[n:], src[n:])
	return crc32.Update(^raw, table, src[n:])
}
