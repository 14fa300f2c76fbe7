// Package release stores 64-bit atomics with release ordering only, for
// single-writer cursors and counters on the hot path.
//
// sync/atomic's Store is sequentially consistent: on amd64 an XCHG, a full
// fence that makes the writer wait until every store before it, cache
// lines that must come from another core included, is visible. A reader
// of a cursor or a counter needs less: that a load seeing the value also
// sees what was written before it. On amd64 a plain MOV gives that
// (x86-TSO never lets a store pass an earlier load or store), and so does
// a plain Go store: the gc compiler threads every load and store through
// one chain of memory states, schedules each store after every load of the
// state it replaces and never moves one store past another. The store is
// written in Go, not assembly, so that it inlines: the call into assembly
// it replaced cost more than the store (BENCHMARKS.md, "Hot path").
// Readers load with sync/atomic as usual.
//
// What a release store does not give is a later load ordered after it
// (store–load): a wake-up protocol in which each side stores a flag and
// then loads the other's (Dekker's) must keep the fenced Store.
//
// Race builds, whose detector would take the plain store for a race, and
// other architectures use sync/atomic's Store.
package release

import "sync/atomic"

// StoreInt64 stores v to p with release ordering.
func StoreInt64(p *atomic.Int64, v int64) { storeInt64(p, v) }

// StoreUint64 stores v to p with release ordering.
func StoreUint64(p *atomic.Uint64, v uint64) { storeUint64(p, v) }
