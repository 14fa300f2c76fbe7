//go:build !linux

package book

// adviseHuge is a no-op where huge pages are not asked for by madvise.
func adviseHuge[T any](s []T) {}
