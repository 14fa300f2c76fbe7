// Package sink stores tickd's signals and bars, as they come off NATS, in
// SQLite, PostgreSQL, or rotated CSV / JSON-lines files.
//
//	NATS core subscription ──Offer──┐
//	                                ├─▶ Sink buffer ──Run: batches──▶ Store ──▶ SQLite / PostgreSQL / files
//	JetStream durable consumer ─Put─┘   (bounded)     retry, backoff          ack after commit (durable)
//
// # Rows and keys
//
// A signal is a row of tickd_signals, a bar a row of tickd_bars (file
// stores: signals-*.csv, bars-*.jsonl, ...); the columns are the JSON
// fields of the bus package's records (see the README's "Sinks" section).
// Every row is keyed by (publisher, seq, ts_pub): seq counts per publisher
// from 1 in each run, and ts_pub (its publish time, part of the message, so
// the same in every copy of it) tells two runs of a publisher with a fixed
// id apart. The key names one message for good, and writing a message twice
// stores it once. SQL stores insert with ON CONFLICT (publisher, seq,
// ts_pub) DO NOTHING in one transaction per batch; file stores remember the
// keys of recent rows (see FileOptions.Window).
//
// # Delivery
//
// On NATS core (SubscribeCore) a sink gets what is published while it is
// connected. Offer never blocks: when the store is away the buffer holds
// Options.MaxBuffer rows, and what comes beyond is dropped and counted
// (Counters.Overflow). Through a JetStream durable consumer
// (ConsumeDurable) nothing is lost: Put waits while the buffer is full,
// and a message is acked only after its batch is committed, so a crash, a
// restart or a database outage at worst redelivers rows the store skips.
//
// # Failure
//
// A failed batch is retried, first and whole, with exponential backoff
// (Options.RetryMin to RetryMax); meanwhile rows keep arriving into the
// buffer. Options.OnReport is told at most once per ReportInterval, and
// once when writes succeed again, so an outage costs a log line a second.
package sink
