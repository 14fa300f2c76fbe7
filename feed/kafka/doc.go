// Package kafka is a feed source that consumes ticks from a Kafka topic as a
// member of a consumer group (franz-go's kgo client), decodes each record's
// value with package feed's decoders straight into engine input slots, and
// commits a record's offset only once the signals its ticks produced are
// published: at-least-once delivery.
//
//	kafka://BROKER[,BROKER...]/TOPIC[?group=NAME&format=native|csv|json&commit=DURATION]
//
// # Records
//
// Every record's value is a whole stream of its own in the configured
// format: CSV or JSON lines (the last line may lack its '\n'), or native
// frames starting with Hello and defining the symbols it uses, sequence from
// 1. Keys and headers are ignored. A record that cannot be decoded (a bad
// line or frame, a truncated frame, a length prefix beyond MaxFrame) is
// counted (Source.BadRecords, and feed's per-reason counters), reported to
// Options.OnError with its topic/partition as the source and its offset
// (the caller rate-limits the log), and skipped where it is bad; the good
// lines or frames of it are still used, and its offset is committed like
// any other, so a bad record never holds back the offsets of good ones.
//
// # Partitions and shards
//
// Each assigned partition gets its own engine input, named
// "kafka:TOPIC/PARTITION", opened when the group assigns the partition and
// closed when it is revoked or lost. The engine still routes each symbol to
// its shard by its own symbol→shard mapping, so a partition is not a shard:
// what a partition carries is order. A producer that keys records by symbol
// keeps each symbol in one partition, and so in one input, whose events the
// engine takes in order; the engine then sees every symbol's ticks in
// produced order, however partitions are spread over consumers. A symbol
// split over several partitions has its ticks interleaved in no particular
// order (late trades are clamped, see engine.Counters.OutOfOrder).
//
// # Offsets: the published barrier
//
// Autocommit is off. The poll loop decodes a poll's records and, per
// partition, takes a mark right after its last Commit: Sink.Committed, the
// input's ring positions. Every CommitInterval a second goroutine takes the
// latest marks, waits until Sink.Consumed says the engine has processed the
// input up to them (the engine commits an event's outputs to its output
// ring before it releases the event), then calls the Barrier, which the
// pipeline implements: wait until the publisher has released every output
// record produced so far (after handing it to NATS), check that none was
// lost, and flush the NATS connection (a PING/PONG: the server has them).
// Only then are the marks' offsets confirmed, and the poll loop commits them
// between two polls (while it owns the partitions: rebalances are blocked
// during a poll, kgo.BlockRebalanceOnPoll). On revoke, and when the source
// stops, the partitions' inputs are closed and their last marks confirmed
// and committed synchronously before the group moves on (bounded by
// FinalTimeout). If the barrier reports a loss (NATS refused publishes),
// offsets are held back from then on: a restart replays from the last
// offset whose work was published.
//
// So a crash or kill replays what was published after the last commit (at
// most about CommitInterval of data, plus what was in flight): subscribers
// may see a signal twice, never miss one. With JetStream publishing, the
// message id (Nats-Msg-Id) derived from the signal deduplicates such
// replays within the stream's duplicate window. Bars and statistics are
// state built from the ticks: an input replayed into a fresh engine rebuilds
// them only from the ticks it replays.
package kafka
