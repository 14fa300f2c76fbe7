//go:build !race

package release

import (
	"sync/atomic"
	"unsafe"
)

// The value of an atomic.Int64 or atomic.Uint64 is its only non-empty
// field, at offset 0 (TestStoreLayout). Each store is one 8-byte MOV.
func storeInt64(p *atomic.Int64, v int64)    { *(*int64)(unsafe.Pointer(p)) = v }
func storeUint64(p *atomic.Uint64, v uint64) { *(*uint64)(unsafe.Pointer(p)) = v }
