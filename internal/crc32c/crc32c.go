// Package crc32c computes CRC-32C (Castagnoli), the checksum of capture
// files (blocks, headers, indexes), the same as hash/crc32 with its
// Castagnoli table, and fused with a copy of the bytes summed.
//
// On amd64 with AVX-512 and VPCLMULQDQ, inputs of 4 KiB and more are
// folded 256 bytes at a time with carry-less multiplies (16 lanes of 128
// bits, each folded 2048 bits ahead), and the 256-byte remainder and the
// tail go through hash/crc32. Folding keeps the message's residue modulo
// the CRC polynomial, so the remainder's CRC is the message's. The fused
// copy stores each block as it is loaded: one pass over the bytes where a
// copy and then a checksum make two. Elsewhere both are hash/crc32 and
// copy.
package crc32c

import "hash/crc32"

var table = crc32.MakeTable(crc32.Castagnoli)

// minFold is the shortest input folded: at 4 KiB folding plus the 256-byte
// remainder it leaves is as fast as hash/crc32's SSE4.2 path (both ~127
// ns, BenchmarkUpdate); at 64 KiB it takes half the time.
const minFold = 4096

// Update returns the CRC-32C of p continued from crc, as
// crc32.Update(crc, crc32.MakeTable(crc32.Castagnoli), p) does.
func Update(crc uint32, p []byte) uint32 {
	if !canFold || len(p) < minFold {
		return crc32.Update(crc, table, p)
	}
	n := len(p) &^ 255
	var rem [256]byte
	foldCopy(nil, &p[0], n/256, ^crc, &rem)
	return finish(&rem, p[n:])
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
	var rem [256]byte
	foldCopy(&dst[0], &src[0], n/256, ^crc, &rem)
	copy(dst[n:], src[n:])
	return finish(&rem, src[n:])
}

// finish sums the folded remainder (as a message of its own: the fold
// started from the raw register, so this one starts from zero) and then
// the tail.
func finish(rem *[256]byte, tail []byte) uint32 {
	c := crc32.Update(0xFFFFFFFF, table, rem[:]) // ^0xFFFFFFFF: a zero register
	return crc32.Update(c, table, tail)
}
