//go:build !purego

#include "textflag.h"

// One 128-bit lane of fold constants for reflected CRC-32C, folding 2048
// bits (256 bytes) ahead. A lane holds a 128-bit chunk X whose low quadword
// is its first 64 message bits H and whose high quadword is the next 64, L.
// X·x^2048 ≡ H·x^(2048+64) + L·x^2048 (mod P), and a carry-less multiply of
// bit-reflected operands yields the reflected product shifted by one bit,
// so the constants are reflect64(x^(2048+63) mod P) for H and
// reflect64(x^(2047) mod P) for L (TestFoldConstants derives them).
DATA kfold<>+0(SB)/8, $0xe9a5d8be00000000
DATA kfold<>+8(SB)/8, $0x1426a81500000000
GLOBL kfold<>(SB), RODATA|NOPTR, $16

// Only Z0–Z15 are used: VZEROUPPER then returns every AVX-512 register
// state to its initial value, so the thread does not carry it (larger
// saves on every context switch) after the call.

// FOLD folds accumulator A onto the next block's 64 bytes in B, using T.
#define FOLD(A, B, T) \
	VPCLMULQDQ $0x00, Z12, A, T \
	VPCLMULQDQ $0x11, Z12, A, A \
	VPTERNLOGD $0x96, B, T, A

// STORE4 stores Z8–Z11, the block just loaded, at DX when DX is not nil.
#define STORE4 \
	TESTQ DX, DX \
	JZ    5(PC) \
	VMOVDQU64 Z8, 0(DX) \
	VMOVDQU64 Z9, 64(DX) \
	VMOVDQU64 Z10, 128(DX) \
	VMOVDQU64 Z11, 192(DX)

// func foldCopy(dst, src *byte, blocks int, init uint32) uint32
//
// The 256-byte remainder is summed here, from a zero register, with the
// CRC32 instruction, in this frame: a buffer of the caller's handed to
// hash/crc32 would escape to the heap, an allocation per call.
TEXT ·foldCopy(SB), NOSPLIT, $256-36
	MOVQ dst+0(FP), DX
	MOVQ src+8(FP), SI
	MOVQ blocks+16(FP), CX
	MOVL init+24(FP), AX
	VBROADCASTI32X4 kfold<>(SB), Z12
	VMOVDQU64 0(SI), Z8
	VMOVDQU64 64(SI), Z9
	VMOVDQU64 128(SI), Z10
	VMOVDQU64 192(SI), Z11
	STORE4
	VMOVDQA64 Z8, Z0
	VMOVDQA64 Z9, Z1
	VMOVDQA64 Z10, Z2
	VMOVDQA64 Z11, Z3
	VMOVD AX, X13
	VPXORQ Z13, Z0, Z0
	JMP next

loop:
	VMOVDQU64 0(SI), Z8
	VMOVDQU64 64(SI), Z9
	VMOVDQU64 128(SI), Z10
	VMOVDQU64 192(SI), Z11
	STORE4
	FOLD(Z0, Z8, Z4)
	FOLD(Z1, Z9, Z5)
	FOLD(Z2, Z10, Z6)
	FOLD(Z3, Z11, Z7)

next:
	ADDQ $256, SI
	TESTQ DX, DX
	JZ 2(PC)
	ADDQ $256, DX
	DECQ CX
	JNZ loop

	VMOVDQU64 Z0, 0(SP)
	VMOVDQU64 Z1, 64(SP)
	VMOVDQU64 Z2, 128(SP)
	VMOVDQU64 Z3, 192(SP)
	VZEROUPPER
	XORL AX, AX
	MOVQ SP, DI
	MOVQ $32, CX

remLoop:
	CRC32Q (DI), AX
	ADDQ $8, DI
	DECQ CX
	JNZ remLoop
	MOVL AX, ret+32(FP)
	RET
