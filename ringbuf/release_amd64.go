//go:build !race

package ringbuf

import "sync/atomic"

// storeRelease stores v to p with release ordering only: a plain MOV, as
// x86-TSO never lets a store pass an earlier load or store, and a call
// into assembly is a compiler barrier. It skips the full fence of
// atomic.Int64.Store (an XCHG), which waits for every store before it,
// the slot's cache line included, to reach the other core. It must not be
// used where a later load must not pass it (the park protocols).
//
// The race detector cannot see it, so race builds use Store
// (release_other.go).
//
//go:noescape
func storeRelease(p *atomic.Int64, v int64)
