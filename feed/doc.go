// Package feed takes market data off the wire and decodes it, in place and
// without allocating, into the tick.Event slots a Sink hands out.
//
// It has three wire formats (native binary, CSV lines, JSON lines), one
// Decoder for all of them, append-style encoders for each, and three sources
// that move bytes from the outside world into a Sink: a TCP listener, a TCP
// dialer that reconnects, and a file tail with `tail -F` semantics.
// ReadStream runs the same read path over any io.Reader.
//
// # Native binary format
//
// A connection (or file) is a stream of length-prefixed frames. Every integer
// is little-endian and every frame of a type has a fixed size, so decoding a
// frame is a handful of direct loads at known offsets.
//
//	Every frame:
//
//	+----------+---------+-----------------------+----------------- ... ---+
//	| len u16  | type u8 |        seq u64        |       body              |
//	+----------+---------+-----------------------+----------------- ... ---+
//	 0          2         3                       11
//
//	len  counts the bytes after itself: 9 + len(body). A receiver skips a frame
//	     it cannot use by its length, so a bad frame never costs it the framing.
//	     A len above Options.MaxFrame cannot be trusted: the connection ends.
//	seq  starts at 1 on every connection and goes up by 1 with every frame of
//	     any type. A jump is a gap: counted, reported, and followed from the
//	     sequence actually received. The seq of a frame with an unknown type
//	     or a wrong length is trusted only if it is the one due.
//
//	type 1 Hello      len 15     the first frame of a connection; a version
//	                             other than FormatVersion ends the stream
//	                             (*VersionError): none of its frames is read
//	     11            15            17
//	     +-------------+-------------+
//	     | magic "TKDF"| version u16 |
//	     +-------------+-------------+
//
//	type 2 Symbol     len 14..45 defines a connection-local symbol index
//	     11            15                        len+2
//	     +-------------+---------------- ... ----+
//	     | local u32   | name, 1..32 bytes ASCII |
//	     +-------------+---------------- ... ----+
//
//	type 3 Trade      len 38     a print (40 bytes with the prefix)
//	     11          15              23              31              39       40
//	     +-----------+---------------+---------------+---------------+--------+
//	     | local u32 | ts_event i64  | price i64     | qty i64       | side u8|
//	     +-----------+---------------+---------------+---------------+--------+
//	     ts_event: ns since the Unix epoch; price: 1e-9 units (tick.Price), > 0;
//	     qty 1..10^12 (tick.MaxQty); side: 0 none, 1 buy, 2 sell (tick.Side).
//
//	type 4 Heartbeat  len 9      no body; keeps the sequence and the link alive
//
//	type 5 End        len 17     end of session: decoded as tick.KindEndOfStream
//	     11              19
//	     +---------------+
//	     | ts_event i64  |
//	     +---------------+
//
// A Symbol frame interns its name into the shared tick.SymbolTable once, at
// the edge; the decoder keeps a per-connection []tick.SymbolID so a Trade
// resolves its local index with one array load.
//
// # CSV and JSON lines
//
// One trade per line, '\n' terminated ("\r\n" accepted):
//
//	ts,symbol,price,size[,side]
//	1700000000123456789,AAPL,189.25,100,B
//	2023-11-14T22:13:20.123456789Z,MSFT,370.1,5
//
//	{"ts":1700000000123456789,"symbol":"AAPL","price":"189.25","size":100,"side":"B"}
//
// ts is integer nanoseconds since the Unix epoch or RFC 3339 with optional
// fractional seconds; price is decimal text (a JSON string or number) parsed
// exactly by tick.ParsePriceBytes, never through a float; size is an integer
// > 0; side is optional: B, S, buy or sell in any case. A CSV header line
// (ts,symbol,price,size[,side], or these names in another order, which the
// lines after it then follow), blank lines, lines starting with '#' and a
// UTF-8 byte order mark before the first line are skipped. A CSV field may
// be in double quotes, without escapes: no field holds ',' or '"'. JSON keys
// other than these five are skipped; escapes inside the five known values
// are not supported, nor is one of them given twice. A text event's Seq is
// its line number.
//
// # Errors
//
// A frame or line that cannot be used is counted under its Reason, reported to
// Options.OnError with the source, byte offset and sequence (line number for
// text), and skipped. Reasons are error values, comparable with errors.Is.
// feed never logs: rate-limiting the reports is the caller's business. A
// sequence gap is reported as a *GapError (expected, got) and decoding goes
// on from the sequence received; an oversized native length prefix ends the
// connection with a *FrameTooLargeError, and a Hello of another format
// version with a *VersionError (EndsStream tells both). Trouble with a source rather than
// its data (a dial failed, a connection refused or lost, a tailed file
// unreadable) is reported as a *SourceError, whose Op says what failed.
// Options.OnEnd is told when a source ends, after its last report, so that
// a caller that rate-limits its log can say what it left out.
//
// # Sources
//
// NewTCPListener, DialTCP and Tail give every connection (or followed file)
// its own Decoder and its own Sink from a SinkOpener, on one goroutine. Each
// read is one batch: read into a reused buffer, stamp TsRecv once, Claim
// slots, decode every whole frame or line into them, Commit, keep the partial
// tail for the next read, and publish the counters (Counters, gathered in a
// Registry with totals across sources) once. Nothing on that path allocates,
// locks or logs.
//
// RunITCH runs one NASDAQ TotalView-ITCH 5.0 session from a URL
// (ParseITCHURL): soupbin:// is a SoupBinTCP client (package soupbin) that
// reconnects and resumes at the next sequence; mold:// a MoldUDP64 receiver
// (package mold) with an optional B line and a rewind server. One
// itch.Decoder and one Sink serve the whole session, across reconnects; the
// messages of one read burst or datagram are decoded into claimed slots and
// committed together. A gap given up is counted and reported as an
// *ITCHGapError; the end of the session sends one tick.KindEndOfStream and
// closes the Sink.
//
// Options.Tap, when set, is told of every source's life and of every read,
// on the source's goroutine (an ITCH session: of every message), but not
// of what the Sink refused as it shut down: the recorder of package replay
// stores them so a replay decodes exactly what the live session decoded.
package feed
