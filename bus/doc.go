// Package bus puts tickd on NATS: an embedded nats-server, the Publisher that
// drains the engine's output rings onto NATS core subjects, the JSON schema
// and its allocation-free encoder, and a subscriber client for Go users.
//
// # Server
//
// StartServer runs nats-server in-process, listening on 127.0.0.1:4222 by
// default (Port 0 means 4222, RandomPort (-1) a kernel-chosen port,
// DontListen no TCP listener at all). tickd itself talks to it through
// ConnectInProcess, an in-memory pipe; other programs use ClientURL.
//
// # Subjects
//
//	<prefix>.signal.<SYMBOL>.<rule>     a rule fired
//	<prefix>.bar.<interval>.<SYMBOL>    an OHLCV bar closed
//	<prefix>.stats.<SYMBOL>             a statistics snapshot
//	<prefix>.bbo.<SYMBOL>               the best bid and offer after a book change
//	<prefix>.status                     tickd lost data ("status"), a feed went stale or live ("feed")
//	<prefix>.control.replay             requests steering a replay (not published by tickd: see Subjects.IsControl)
//
// prefix defaults to "tickd". SYMBOL and rule are mapped by SanitizeToken
// ('.', ' ', '*', '>' and non-printable bytes become '_': BRK.A → BRK_A);
// interval is FormatInterval's token ("250ms", "1s", "5m", "1h").
//
// # Payload
//
// One JSON object per message (see ContentTypeJSON). Without JetStream a
// message has no NATS headers and no reply subject. With
// PublisherOptions.JetStream (tickd serve -jetstream), signals and bars
// carry one header, Nats-Msg-Id (see JetStream below), and a reply subject
// (an _INBOX. subject) on which the stream acknowledges them; a core NATS
// subscriber sees both too, and should not reply to it.
// Every object starts with "kind" ("signal", "bar", "stats", "bbo"),
// "publisher" and "seq": seq counts from 1 per publisher, one per message it
// sends, so (publisher, seq) identifies a message within a run and a gap in
// seq means a loss (seq starts again at 1 when tickd restarts: with a fixed
// publisher id, ts_pub tells the runs apart, as the sinks key rows). The events on <prefix>.status ("status", "feed") have no seq and no
// symbol: Subscribe hands them over as *Status and *FeedStatus.
// Times are int64 nanoseconds since the Unix epoch; prices are exact decimal
// strings ("412.5"); statistics are JSON numbers, null when not finite. So
// "vwap" has two types: a bar's is a price, a string ("412.5", Bar.VWAP a
// decimal.Decimal), a stats' the session's statistic, a number (412.5,
// Stats.VWAP a float64); Decode reads each by its kind and refuses the
// other type. A
// BBO's "bid" or "ask" is null when that side of the book is empty, its
// "bid_size"/"ask_size" (shares) and "bid_orders"/"ask_orders" then 0. The
// Encoder methods document each record's fields with an example; the JSON
// Schema of every record, for clients in any language, is
// schema/tickd-messages.schema.json at the repository root.
//
// # JetStream
//
// With PublisherOptions.JetStream, signals and bars are also stored in a
// stream (EnsureStream creates or binds it): each is published
// asynchronously with a Nats-Msg-Id naming its content (MsgID: subject and
// event time) and re-sent, by
// a goroutine of its own, until the stream acknowledges it, so an outage
// or a leader election loses nothing and stores nothing twice. Replay reads
// the stream back from a time or a sequence. That path copies and
// allocates per message; the core path below does not.
//
// # Hot path
//
// Publisher.Run encodes into one reused buffer, looks subjects up in caches
// filled on first sight, and calls nc.Publish, which copies the payload into
// nats.go's write buffer: nothing is allocated per message. Decoding, on the
// subscriber side, uses encoding/json and allocates freely.
package bus
