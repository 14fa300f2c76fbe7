package feed

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/tickd/tickd/tick"
)

// Options configures decoders and sources. Zero fields take the defaults
// below; the result is then validated, so a bad value fails at construction.
type Options struct {
	Format  Format            // wire format; default FormatNative
	Symbols *tick.SymbolTable // required: names are interned here at the edge

	// FixedSymbols rejects names not already in Symbols (ReasonUnknownSymbol)
	// instead of interning them on first sight.
	FixedSymbols bool

	// OnError receives every rejected frame or line, gap and connection error
	// with the source name, the byte offset in that source, and the sequence
	// (line number for text). It runs on the source's I/O goroutine: keep it
	// short and rate-limit any logging. nil drops the reports (they are still
	// counted).
	OnError func(source string, offset int64, seq uint64, err error)

	// OnEnd, if set, is told when a source has ended, after its last
	// OnError report: a connection closed, a tail or an ITCH session
	// returned, a dialer or listener stopped (source as in the reports of
	// its dial or accept failures), a Kafka partition revoked. A logger
	// that rate-limits OnError can say there what it left out.
	OnEnd func(source string)

	MaxFrame   int // native: largest length prefix accepted; text: longest line. Default 4096, 64..1<<20
	ReadBuffer int // bytes read per batch; default max(64 KiB, 2×MaxFrame); at least MaxFrame+2

	MaxConns int // listener: connections served at once; more are refused. Default 256

	// EvictAfter lets a connection beyond MaxConns take the slot of the one
	// that has waited longest for its peer to send anything (data, a
	// heartbeat), if for at least EvictAfter: that one is closed, so that
	// connections that open and send nothing cannot lock the feed out (one
	// held up by a full Sink is not waiting for its peer). 0 (the default)
	// never evicts: the new connection is refused.
	EvictAfter time.Duration

	// SourceID picks the tick.Event.Source of each new source (connection or
	// file). Default: Stats hands out 1, 2, 3, ... (wrapping past 65535,
	// skipping the ids of sources still live).
	SourceID func(source string) uint16
	Stats    *Registry    // per-source counters and totals; default: a private Registry
	Clock    func() int64 // stamps TsRecv once per read; default time.Now().UnixNano

	// MaxAhead rejects a tick whose event time is more than MaxAhead past
	// its receive time (ReasonTimeAhead): one mistyped far-future time
	// would otherwise become its symbol's clock, every later tick clamped
	// to it, its bars held open and its rules' cooldowns never ending.
	// 0 (the default): no limit. Native and text formats; ITCH times are
	// bounded by their session date.
	MaxAhead time.Duration

	FromEnd      bool          // tail: start at the end of the first file instead of its start
	PollInterval time.Duration // tail: how often to look for new data at EOF; default 100ms

	// TLS, if set, makes the TCP listener and dialer speak TLS: a server
	// config (ServerTLSConfig) for NewTCPListener, a client one
	// (ClientTLSConfig) for DialTCP. nil (the default) is plain TCP.
	TLS *tls.Config

	ReconnectMin time.Duration // dialer, SoupBinTCP: first backoff; default 100ms
	ReconnectMax time.Duration // dialer, SoupBinTCP: backoff cap; default 5s

	// SessionDate is the trading day of an ITCH session (RunITCH): ITCH
	// timestamps count ns from midnight America/New_York of that day. Zero
	// (the default) stamps TsEvent as raw ns since midnight; see
	// itch.Options.SessionDate.
	SessionDate time.Time

	// Tap, if set, is told of every source's life and every read: a
	// recorder (replay.Recorder) captures exactly the bytes the decoder
	// applied. nil (the default) costs one branch per read.
	Tap Tap
}

// Tap watches a source's raw input. Every source calls it on its own I/O
// goroutine: Open when the source starts (a connection, a file, an ITCH
// session; source is the tick.Event.Source id of its events), Data once per
// read (TCP and tail: the read chunk, once decoded; ITCH: one message,
// before it is decoded, with the receive time its events are stamped with),
// Close when it ends. What the Sink refused as it shut down is not told (a
// read: from the first byte not applied), so a replay of a capture applies
// what the live session did. A tail
// that restarts its file (truncation, rotation) closes and reopens the
// source, so a player starts its decoder over there too. b is valid only
// during the call. Several sources may call one Tap concurrently.
type Tap interface {
	Open(source uint16, name string)
	Data(source uint16, recv int64, b []byte)
	Close(source uint16, recv int64)
}

// Option defaults and limits.
const (
	DefaultMaxFrame   = 4096
	DefaultReadBuffer = 64 << 10
	DefaultMaxConns   = 256
	minMaxFrame       = 64 // every native frame type fits
	maxMaxFrame       = 1 << 20
)

func wallClock() int64 { return time.Now().UnixNano() }

// withDefaults returns o with defaults applied, validated.
func (o Options) withDefaults() (Options, error) {
	if o.MaxFrame == 0 {
		o.MaxFrame = DefaultMaxFrame
	}
	if o.ReadBuffer == 0 {
		o.ReadBuffer = max(DefaultReadBuffer, 2*o.MaxFrame)
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Stats == nil {
		o.Stats = new(Registry)
	}
	if o.Clock == nil {
		o.Clock = wallClock
	}
	if o.PollInterval == 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.ReconnectMin == 0 {
		o.ReconnectMin = 100 * time.Millisecond
	}
	if o.ReconnectMax == 0 {
		o.ReconnectMax = max(5*time.Second, o.ReconnectMin)
	}
	return o, o.validate()
}

func (o *Options) validate() error {
	var errs []error
	if o.Format >= formatCount {
		errs = append(errs, fmt.Errorf("feed: unknown format %d", o.Format))
	}
	if o.Symbols == nil {
		errs = append(errs, errors.New("feed: Options.Symbols is required"))
	}
	if o.MaxFrame < minMaxFrame || o.MaxFrame > maxMaxFrame {
		errs = append(errs, fmt.Errorf("feed: MaxFrame %d not in %d..%d", o.MaxFrame, minMaxFrame, maxMaxFrame))
	}
	if o.ReadBuffer < o.MaxFrame+2 {
		errs = append(errs, fmt.Errorf("feed: ReadBuffer %d below MaxFrame+2 (%d)", o.ReadBuffer, o.MaxFrame+2))
	}
	if o.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("feed: MaxConns %d < 1", o.MaxConns))
	}
	if o.MaxAhead < 0 {
		errs = append(errs, fmt.Errorf("feed: MaxAhead %v < 0", o.MaxAhead))
	}
	if o.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("feed: PollInterval %v < 0", o.PollInterval))
	}
	if o.ReconnectMin < 0 || o.ReconnectMax < o.ReconnectMin {
		errs = append(errs, fmt.Errorf("feed: reconnect backoff %v..%v is not a range", o.ReconnectMin, o.ReconnectMax))
	}
	return errors.Join(errs...)
}
