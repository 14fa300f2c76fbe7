// Package engine turns trades into statistics, bars and rule signals, one
// goroutine per shard, without locks or allocation on the per-tick path.
//
//	source ─▶ Input ─┬─ ring ─▶ shard 0 ─▶ output ring 0 ─▶ publisher
//	                 └─ ring ─▶ shard 1 ─▶ output ring 1 ─▶ publisher
//	source ─▶ Input ─┬─ ring ─▶ shard 0    each shard fans in over one
//	                 └─ ring ─▶ shard 1    ring per Input (SPSC each)
//
// Sharding: symbol id belongs to shard id mod Config.Shards, for the life of
// the engine, so each symbol's state has one writer. Symbol IDs are dense in
// interning order, so consecutive symbols go to consecutive shards. A shard
// keeps its symbols in an array indexed by id / Shards and allocates a
// symbol's state (windows, bars, the rules whose glob patterns match its
// name) the first time the symbol trades; after that a tick only indexes.
//
// Per trade, in order: the symbol's bars whose interval the trade ends are
// published (each as a tick.Bar, then, if the shortest one closed, a
// tick.Stats snapshot of the state they closed on); every statistic is
// updated (package stats); every bound rule is evaluated and may publish a
// tick.Signal. Events with an unknown symbol or kind, or a trade or cross
// trade with a size negative or above tick.MaxQty (which would wrap the
// volume), are rejected: counted and otherwise ignored.
//
// L3 books (ITCH): a shard's first order or venue event creates its
// book.Books (sized by Config.BookOrders). Order events are applied there,
// a group of 16 at a time with their order-table lookups prefetched; an
// execution, printed trade or cross that the book reports as printable is
// then a trade as above (a non-printable execution changes the book only);
// a book change evaluates the symbol's spread and imbalance rules, and a
// change of its best bid or offer publishes a tick.BBO (throttled per
// symbol by Config.BBOInterval, in event time). trade_through rules compare
// a trade with the touch as it stood before the trade's message. Orders the
// book never saw (a feed joined mid-day) are counted under their
// book.Reason (Counters.Book), never fatal.
//
// Event time drives everything: windows, EMAs, bar boundaries, cooldowns. A
// trade earlier than its symbol's latest is counted as out of order and
// treated as happening at the latest time, so windows and bars never run
// backwards (it still counts, in the current bar and bucket). A bar is
// published when the first trade of a later interval arrives, when its
// symbol's Input ends its stream (a tick.KindEndOfStream event), and at
// shutdown; an interval without trades publishes nothing. Each symbol
// records the Input of its last trade or book event (one store), and an
// Input's end of stream publishes the open bars, with their tick.Stats, and
// held BBOs of the symbols it fed last, leaving those other Inputs feed
// alone. A bar flushed by end-of-stream can be followed by a second bar
// with the same Start if trades of that interval still arrive. A Step (and
// so the inline engine) has one source at a time: there an end of stream
// publishes every open bar. Session statistics (VWAP, min, max, count,
// volume) run from a symbol's first trade for the engine's life.
//
// Outputs: one ring of tick.Out per shard, in the order produced; the
// records of one input batch are committed together. A publisher that fans
// in over them and parks when idle shares Config.OutputBell with them, so
// that every commit wakes it.
//
// Inline (Config.Emit): one shard and no goroutine or ring of its own. The
// one open source's Commit applies its batch on the source's goroutine and
// hands each record to an Emitter (the publisher) before it returns, so a
// tick's signal leaves without a hand-off between goroutines; Run only
// waits for shutdown and then publishes the open bars. Step is the same
// shard driven by hand.
//
// Instances: with Config.Partition several engines, in separate tickd
// processes, split one feed's symbols by PartitionOf; each drops the events
// of the others' symbols as its sources commit them (Counters.NotOwned).
package engine
