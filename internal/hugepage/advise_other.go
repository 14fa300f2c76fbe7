//go:build !linux

package hugepage

// Advise is a no-op where huge pages are not asked for by madvise.
func Advise[T any](s []T) {}
