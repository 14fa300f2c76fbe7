//go:build !race

package release

import (
	"sync/atomic"
	"unsafe"
)

// store64 is a plain 8-byte MOV of v to *p (store_amd64.s).
//
//go:noescape
func store64(p unsafe.Pointer, v uint64)

// The value of an atomic.Int64 or atomic.Uint64 is its only non-empty
// field, at offset 0 (TestStoreLayout).
func storeInt64(p *atomic.Int64, v int64)    { store64(unsafe.Pointer(p), uint64(v)) }
func storeUint64(p *atomic.Uint64, v uint64) { store64(unsafe.Pointer(p), v) }
