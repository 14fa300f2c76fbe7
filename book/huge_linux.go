package book

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel to back the 2 MiB-aligned part of s's array
// with huge pages (madvise MADV_HUGEPAGE; with transparent huge pages in
// "madvise" mode, the Go heap gets none otherwise). The order slab, the
// reference window and the table are tens of MB read at random: with 4 KiB
// pages most lookups also miss the TLB. It is a hint: memory stays the Go
// heap's, and an error (an old kernel, THP off) changes nothing.
func adviseHuge[T any](s []T) {
	const huge = 2 << 20
	if cap(s) == 0 {
		return
	}
	size := uintptr(cap(s)) * unsafe.Sizeof(s[:1][0])
	if size < huge {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), size)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (huge - p%huge) % huge // from the first 2 MiB boundary
	hi := size - (p+size)%huge   // to the last
	if hi <= lo {
		return
	}
	_ = syscall.Madvise(b[lo:hi], syscall.MADV_HUGEPAGE)
}
