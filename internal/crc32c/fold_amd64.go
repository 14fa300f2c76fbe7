//go:build !purego

package crc32c

import "golang.org/x/sys/cpu"

// canFold: the folding loop uses 512-bit loads, VPTERNLOGD (AVX-512F) and
// VPCLMULQDQ on 512-bit registers.
var canFold = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VPCLMULQDQ

// foldCopy folds blocks×256 bytes at src, the first four XORed with init
// (the raw CRC register), into a 256-byte message with the same CRC from a
// zero register, and returns that message's raw CRC (not inverted). With
// dst not nil it also stores the bytes there (fold_amd64.s).
//
//go:noescape
func foldCopy(dst, src *byte, blocks int, init uint32) uint32
