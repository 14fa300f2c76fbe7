//go:build !amd64 || race

package ringbuf

import "sync/atomic"

// storeRelease is atomic.Int64.Store where the amd64 release store is not
// built (other architectures, and race builds, whose detector would not
// see a store made in assembly).
func storeRelease(p *atomic.Int64, v int64) { p.Store(v) }
