// Package hugepage asks the kernel to back large arrays with 2 MiB pages.
// Transparent huge pages are commonly in "madvise" mode, in which the Go
// heap gets none unless asked: Advise asks for an array's aligned part, and
// Bytes allocates a buffer laid out to be covered whole. Both are hints: the
// memory stays the Go heap's, and where huge pages are unavailable nothing
// changes but the speed.
package hugepage

import "unsafe"

// Size is the huge page size asked for (x86-64 and arm64 with 4 KiB base
// pages).
const Size = 2 << 20

// Bytes returns an empty slice of capacity n whose first byte is on a Size
// boundary, advised to use huge pages (Advise). For buffers handed to the
// kernel whole, as O_DIRECT writes are: pinning a buffer for the device
// then takes one page per 2 MiB instead of 512.
func Bytes(n int) []byte {
	b := make([]byte, n+Size)
	skip := int(-uintptr(unsafe.Pointer(&b[0])) & (Size - 1))
	b = b[skip : skip : skip+n]
	Advise(b)
	return b
}
