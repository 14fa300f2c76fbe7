// Package ringbuf provides bounded lock-free rings in the style of the LMAX
// Disruptor, the hand-off between tickd's pipeline stages: one producer
// goroutine writes events in place into preallocated slots, and one or more
// consumers, each with its own cursor, read every event in place. Nothing on
// the hot path allocates, takes a lock or makes a system call.
//
// # Layout
//
// A Ring of capacity 2^k is a slice of slots indexed by sequence&(2^k-1)
// plus cursors, int64 sequence numbers that only grow (they would need
// centuries to overflow):
//
//	     slowest consumer's cursor     published                next+reserved
//	                  │                    │                          │
//	… free (producer) │ committed, not yet │ reserved by the producer │ free …
//	                  │ released: consumers│ (written in place, not   │
//	                  │ read them in place │ yet visible)             │
//	                  └──────────── never more than Cap slots ────────┘
//
// The producer's cursor (published) and every consumer's cursor (cursor)
// sit alone on their own cache line (x/sys/cpu.CacheLinePad), so a store to
// one never invalidates a line another goroutine is reading for a different
// reason. Each side also caches the opposite cursor in a private field:
// the producer remembers the slowest consumer's cursor it last saw (the
// gate) and re-reads the consumers' lines only when the gate says the ring
// is full; a consumer remembers the last published count and re-reads the
// producer's line only when it has consumed everything up to it. With
// batches, a handful of cache-line transfers move hundreds of events.
//
// # Using a ring
//
// The producer calls Reserve(n) for up to n contiguous free slots (fewer at
// the end of the buffer, where a batch stops rather than wraps), fills them
// in place and calls Commit(k) to publish the first k. A consumer calls
// Wait (or Poll, which never waits) for the contiguous run of published
// slots after its cursor, reads them in place and calls Release(k) to hand
// the first k back. Returned slices alias ring memory: they stay valid until
// Commit or Release, after which the other side may reuse them. Close ends
// the stream; consumers still drain every committed slot and then Wait
// returns ok=false.
//
// A ring with several consumers broadcasts: each consumer sees every slot
// and the producer waits for the slowest. Fan-in, one goroutine consuming
// several rings, uses a shared Bell (see Idler).
//
// # Memory ordering
//
// Go's sync/atomic operations are sequentially consistent, and an atomic
// load that observes an atomic store is synchronized after it. The producer
// writes slots with plain stores and then stores published; a consumer
// loads published and only then reads the slots below it, so it sees the
// writes. A consumer reads slots and then stores its cursor; the producer
// loads that cursor before writing the slots below it, so a slot is never
// overwritten while being read. Every cursor has a single writer, so no
// read-modify-write is needed on the hot path: Commit is one store,
// Release another.
//
// Those stores need release ordering only (internal/release: a plain MOV
// on amd64). A sync/atomic Store is an XCHG instead, a full fence that
// waits for every earlier store, the slot's cache line included, to reach
// the other core: twice the cost of an unbatched Commit. So where nothing
// parks (SpinYield or Spin, and no Bell) the cursors are release stores.
// Parking needs the fence (below): under Park, or with a Bell, Commit and
// Release use the atomic Store.
//
// # Waiting
//
// Both sides wait: consumers for data, the producer for space. The
// WaitStrategy escalates per idle round: Spin re-polls with a short pause;
// SpinYield (the default) spins briefly, then calls runtime.Gosched between
// polls so other goroutines on the P can run; Park spins and yields, then
// sleeps on a channel until woken, with a bounded timeout on a reused timer
// as a safety net. On a 2-core machine at most one goroutine should use
// Spin: two spinners and a third busy goroutine leave one of them waiting
// for the scheduler. Even Spin calls Gosched once every 1024 idle rounds so
// that oversubscription degrades instead of stalling.
//
// Parking never loses a wake-up. The sleeper stores "armed" into its
// parker, then re-checks its condition, then sleeps; the waker makes the
// condition true (stores published, or a cursor, or closed), then loads
// "armed" and, if set, claims it by compare-and-swap and sends a token on a
// one-slot channel. Sequential consistency forbids both loads missing both
// stores (the Dekker argument), so either the sleeper sees the new state or
// the waker sees it armed. The waker pays one load when nobody is parked:
// Commit loads a counter of parked consumers only under Park, and Release
// loads the producer's armed flag only under Park. A stale token left when
// the sleeper found work on its re-check costs one spurious wake-up, which
// every wait loop absorbs by polling again.
//
// Fan-in follows the same protocol with the Bell as the parker and the
// Idler splitting it over two calls: the first Idle at the park stage arms
// the Bell and returns, the caller polls all its rings once more, and only
// the next Idle sleeps. A Commit on any ring with the Bell stores published
// and then rings it, so a commit the final poll missed finds the Bell armed.
package ringbuf
