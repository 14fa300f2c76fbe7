// Package natsfeed is a feed source that takes ticks from core NATS: it
// subscribes to a subject (a pattern with * and > wildcards, optionally as a
// member of a queue group), decodes each message's data with package feed's
// decoders straight into engine input slots, and hands them to one Sink.
//
//	SUBJECT[?queue=NAME&format=native|csv|json]
//
// # Messages
//
// Every message's data is a whole stream of its own in the configured
// format: CSV or JSON lines (the last line may lack its '\n'), or native
// frames starting with Hello and defining the symbols it uses, sequence from
// 1. Headers and reply subjects are ignored. A bad line or frame is counted
// (feed's per-reason counters, and Source.BadMessages for messages with at
// least one), reported to Options.OnError with the source "nats:PATTERN",
// the error naming "nats:SUBJECT" (the subject the message was published
// to) and the byte in the message, and skipped; the rest of the message is
// still used (but for a native length past MaxFrame, the framing lost, or a
// Hello of another format version: the rest of the message is dropped, the
// report wrapping
// feed.ErrRestOfMessageSkipped) and the source goes on.
//
// # Subscriptions and inputs
//
// The source holds one subscription and so one engine input (one Sink),
// named "nats:PATTERN": messages are decoded in the order the subscription
// receives them, whatever subject they carry. The engine routes each symbol
// to its shard as for any source. With a queue group, each message goes to
// one member of the group: several tickd sharing a queue split the messages
// (a symbol published to several members is then split too, so key
// subjects by symbol group if order matters).
//
// # What is lost, and how it is counted
//
// Core NATS is at-most-once: what is published while the source is not
// subscribed (before it starts, while the connection is down) is never seen.
// While subscribed, messages wait in the subscription's pending buffer
// (Config.PendingMsgs, PendingBytes). When the source falls that far behind
// (the engine's input full), the client drops new messages: nats.go counts
// them (Subscription.Dropped), the source exposes the count as
// Source.Dropped and reports each increase to OnError as a
// feed.SourceError (SourceDropped). The NATS server may also cut off a
// connection whose socket backs up (its own slow-consumer limit); that is
// the connection's, logged by its owner. When the source stops it
// unsubscribes and decodes what was already pending, so nothing received is
// dropped at shutdown.
package natsfeed
