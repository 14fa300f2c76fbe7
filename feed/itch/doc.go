// Package itch decodes and encodes NASDAQ TotalView-ITCH 5.0 messages and turns
// them into tick.Events, without allocating.
//
// It has four layers:
//
//   - Messages: one value struct per message type (AddOrder, OrderExecuted, ...)
//     with a Decode function that reads a message in place with direct
//     big-endian loads, and Check, which validates the type byte and the exact
//     length (MsgLen) before any Decode is called; and zero-copy views
//     (AddOrderView, ExecutedView, ...) whose accessors each do one load in
//     place, the fast path for the order messages. Decoding never writes into
//     its input and never allocates.
//   - Encoders: AppendAddOrder(dst, m) and friends, one per type, for tests and
//     simulators.
//   - Decoder: maps messages onto tick.Events as the table in tick/event.go
//     says, interns symbols from Stock Directory (R) messages into a
//     tick.SymbolTable, and keeps per-type and per-reason counters.
//   - FileReader: NASDAQ's daily-file framing, plain or gzip, streamed with a
//     bounded buffer.
//
// # Message layout
//
// Every integer is big-endian and unsigned; alpha fields are ASCII, left
// justified and right-padded with spaces. Every message starts with the same
// 11 bytes:
//
//	+------+------------+------------+-------------------+------ ... ----+
//	| type | locate u16 | track u16  | timestamp u48     | body          |
//	+------+------------+------------+-------------------+------ ... ----+
//	 0      1            3            5                   11       MsgLen[type]
//
//	timestamp  ns since midnight (America/New_York) of the session date
//	Price(4)   u32, 4 implied decimals: 1234500 = 123.45 (tick.Price exactly)
//	Price(8)   u64, 8 implied decimals (V only)
//
// # Daily-file framing
//
//	+---------+--------- ... ----+---------+--------- ... ----+     +---------+
//	| len u16 | message (len)    | len u16 | message (len)    | ... | 0x0000  |
//	+---------+--------- ... ----+---------+--------- ... ----+     +---------+
//
// len does not count itself; a zero len marks the end of the session (a plain
// end of file does too), so only the end of the file may follow it. A len
// above MaxFileMessage (255; ITCH 5.0's longest message is 50 bytes) or data
// after the zero len means the framing is lost, or the file is not ITCH: the
// FileReader stops with a FramingError. Files may be gzip-compressed (magic
// 1f 8b); the FileReader detects that from the first two bytes.
//
// # Errors
//
// A message that cannot be used is rejected with a Reason (an error value,
// comparable with errors.Is, that converts to an error without allocating)
// and counted. A message of a type this package does not know is skipped by
// its framed length and counted, never treated as fatal: the framing is intact.
package itch
