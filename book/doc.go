// Package book keeps L3 order books — every resting order by reference, FIFO
// queues per price level, sorted price levels per side — for the symbols of one
// engine shard, and answers BBO, depth, mid, spread and imbalance queries.
//
// Books applies tick.Events (see the table in tick/event.go for how each ITCH
// message maps onto Event fields) on one goroutine, with no lock and no
// allocation in steady state. Memory layout, sized for cache misses, which
// dominate book building:
//
//	orders   slab []order, 32 bytes each (two per cache line), indexed by uint32,
//	         index 0 is the nil order; free orders are chained through next.
//	index    ref -> slab index in two parts (index.go): a direct-mapped
//	         window of uint32 slab indices by ref mod its size (4x the
//	         expected live orders), which holds the newest order of each
//	         residue, so a sequential feed's recent orders are found with
//	         one load and no probe; and an open-addressing hash table
//	         (16-byte slots, linear probing, backward-shift deletion, so
//	         probe lengths never decay under churn) for the orders that
//	         outlived their window slot, searched only for refs at or below
//	         the largest it may hold.
//	levels   per book and side a slice of 32-byte levels sorted so the best price
//	         is last: touching the top is O(1) and inserting or removing a level
//	         near the top moves only the few levels above it. Each level holds
//	         total shares, order count and the head/tail of an intrusive doubly
//	         linked FIFO list of slab indices.
//
// The slab, the window and the table ask the kernel for 2 MiB pages
// (internal/hugepage): at a million orders they are tens of MB read at random, and
// with 4 KiB pages most of those reads would miss the TLB too.
//
// ApplyBatch applies a ring batch with the index, order and FIFO-neighbour
// misses of groups of events overlapped (software prefetch by plain loads);
// at 1M live orders it halves the cost per message against Apply.
//
// One live order costs about 32 (slab) + 16 (four window slots) + 16 (one
// table slot) bytes plus its share of a level; TestMemoryPerLiveOrder
// measures it at 1M live orders.
//
// Growth: the slab grows (append) when its free list is empty, and the table
// doubles when an insert would push its load above 3/4: inside Apply only
// when Options.ExpectedOrders was too small or, for the table, when most live
// orders sit in it (they outlived their window slot: long-lived orders, or a
// feed whose refs are not in sequence). Both are counted
// (ReasonGrowTable, ReasonGrowSlab). Maintain, called off the hot path (an
// engine shard calls it when its input is idle), grows the table early, at
// load 1/2, so the hot path need not.
//
// Bad input is counted by Reason and never panics: a reference the book never saw
// (a feed joined mid-day), a duplicate reference, an over-execution, a zero or
// out-of-range quantity. A crossed or locked book is detected after every change
// and counted when a book enters that state.
//
// Built with -tags invariants, every Apply is followed by a consistency check of
// the touched book (quantities, level totals, counts, sort order, index/slab
// agreement) that panics on the first violation.
package book
