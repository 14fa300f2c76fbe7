package hugepage

import (
	"syscall"
	"unsafe"
)

// Advise asks the kernel to back the Size-aligned part of s's array (to
// its capacity) with huge pages: madvise MADV_HUGEPAGE. Arrays of tens of
// MB read at random (the books' order slab and index) otherwise miss the
// TLB on most lookups. Errors (an old kernel, THP off) are ignored.
func Advise[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	size := uintptr(cap(s)) * unsafe.Sizeof(s[:1][0])
	if size < Size {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), size)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (Size - p%Size) % Size // from the first huge-page boundary
	hi := size - (p+size)%Size   // to the last
	if hi <= lo {
		return
	}
	_ = syscall.Madvise(b[lo:hi], syscall.MADV_HUGEPAGE)
}
