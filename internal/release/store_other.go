//go:build !amd64 || race

package release

import "sync/atomic"

func storeInt64(p *atomic.Int64, v int64)    { p.Store(v) }
func storeUint64(p *atomic.Uint64, v uint64) { p.Store(v) }
