package feed

import (
	"errors"
	"strconv"
	"time"

	"github.com/tickd/tickd/tick"
)

// Reason says why a frame or line was rejected. Reasons are errors: OnError
// receives them (or an error wrapping one), and errors.Is matches them.
// Converting a Reason to an error does not allocate.
type Reason uint8

// Reasons. Every one is counted separately in Stats.ByReason.
const (
	reasonNone             Reason = iota
	ReasonUnknownType             // native: frame type not defined
	ReasonBadLength               // native: length wrong for the frame's type
	ReasonNoHello                 // native: the first frame of a connection is not a Hello
	ReasonBadMagic                // native: Hello without the "TKDF" magic
	ReasonVersion                 // native: Hello with another format version; the stream is not read, connection ends
	ReasonUnknownSymbol           // trade names an undefined local index, or a name not in a fixed table
	ReasonBadSymbol               // symbol name invalid, or local index out of range
	ReasonSymbolTableFull         // a new symbol did not fit the symbol table
	ReasonBadPrice                // price not a decimal, too precise, or out of range
	ReasonPriceNotFinite          // price NaN or Inf
	ReasonPriceNotPositive        // price zero or negative
	ReasonBadQty                  // size not an integer in 1..tick.MaxQty
	ReasonBadSide                 // side not one of none/B/S/buy/sell
	ReasonBadTimestamp            // ts neither integer ns nor valid RFC 3339 in range
	ReasonFieldCount              // CSV: too many or too few fields
	ReasonSyntax                  // JSON: not a flat object
	ReasonMissingField            // JSON: ts, symbol, price or size missing
	ReasonLineTooLong             // text: line longer than Options.MaxFrame
	ReasonTruncated               // the stream ended inside a frame or line
	ReasonFrameTooLarge           // native: length prefix above MaxFrame; framing lost, connection ends
	ReasonTimeAhead               // event time more than Options.MaxAhead past its receive time
	ReasonStockMismatch           // ITCH: the Stock field names another stock than its locate's
	NumReasons                    // number of reasons, for arrays indexed by Reason
)

var reasonNames = [NumReasons]string{
	"none", "unknown_type", "bad_length", "no_hello", "bad_magic", "version",
	"unknown_symbol", "bad_symbol", "symbol_table_full", "bad_price",
	"price_not_finite", "price_not_positive", "bad_qty", "bad_side",
	"bad_timestamp", "field_count", "syntax", "missing_field", "line_too_long",
	"truncated", "frame_too_large", "time_ahead", "stock_mismatch",
}

var reasonText = [NumReasons]string{
	"feed: no error",
	"feed: unknown frame type",
	"feed: wrong length for frame type",
	"feed: first frame is not a hello",
	"feed: bad magic in hello",
	"feed: format version mismatch",
	"feed: unknown symbol",
	"feed: invalid symbol",
	"feed: symbol table full",
	"feed: bad price",
	"feed: price is not finite",
	"feed: price is zero or negative",
	"feed: size is not an integer from 1 to 10^12 (tick.MaxQty)",
	"feed: bad side",
	"feed: bad timestamp",
	"feed: wrong number of fields",
	"feed: malformed JSON object",
	"feed: missing field",
	"feed: line too long",
	"feed: stream ended inside a frame or line",
	"feed: frame length exceeds MaxFrame",
	"feed: event time too far ahead of its receive time",
	"feed: ITCH stock field disagrees with the stock its locate was announced for",
}

// String returns a short snake_case name, fit for a metric label.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

func (r Reason) Error() string {
	if r < NumReasons {
		return reasonText[r]
	}
	return "feed: " + r.String()
}

// GapError reports a sequence gap on a native connection: Got arrived where
// Expected was due. Decoding goes on from Got.
type GapError struct {
	Expected, Got uint64
}

func (e *GapError) Error() string {
	return "feed: sequence gap: expected " + strconv.FormatUint(e.Expected, 10) +
		", got " + strconv.FormatUint(e.Got, 10)
}

// FrameTooLargeError ends a native connection: a length prefix above
// MaxFrame means the framing can no longer be trusted. It wraps
// ReasonFrameTooLarge.
type FrameTooLargeError struct {
	Source      string
	Offset      int64 // of the length prefix
	Length, Max int
	// Text is the stream's first two bytes when they are text (a CSV or
	// JSON feed sent where native frames were expected), else "".
	Text string
}

func (e *FrameTooLargeError) Error() string {
	s := "feed: " + e.Source + ": offset " + strconv.FormatInt(e.Offset, 10) +
		": frame length " + strconv.Itoa(e.Length) + " exceeds MaxFrame " + strconv.Itoa(e.Max) +
		", framing lost"
	if e.Text != "" {
		s += "; it starts with text, " + strconv.Quote(e.Text) + ": a CSV or JSON feed? (-feed-format csv|json)"
	}
	return s
}

func (e *FrameTooLargeError) Unwrap() error { return ReasonFrameTooLarge }

// FieldError reports a text line rejected for the value of its price,
// size or time (Reason, which it wraps): the value as read, cut to
// maxFieldText bytes, and for a price what is wrong with it (Err: more
// than 9 decimal places, out of range, not decimal text), so that
// "feed: bad price" does not leave the sender guessing.
type FieldError struct {
	Reason Reason
	Value  string
	Len    int   // the value's length in bytes: more than len(Value) when it was cut
	Err    error // nil when Reason says it all
}

// maxFieldText bounds FieldError.Value: a line may be MaxFrame long.
const maxFieldText = 64

func newFieldError(r Reason, v []byte) *FieldError {
	e := &FieldError{Reason: r}
	if r == ReasonBadPrice {
		_, e.Err = tick.ParsePriceBytes(v)
	}
	e.Value, e.Len = string(v[:min(len(v), maxFieldText)]), len(v)
	return e
}

func (e *FieldError) Error() string {
	s := e.Reason.Error() + ": " + strconv.Quote(e.Value)
	if e.Len > len(e.Value) { // cut: not the value as it was sent
		s += "… (" + strconv.Itoa(e.Len) + " bytes)"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FieldError) Unwrap() error { return e.Reason }

// VersionError ends a native stream whose Hello names a format version
// other than FormatVersion: its frames may have other layouts, or other
// meanings at the same lengths, so none of them is read. It wraps
// ReasonVersion.
type VersionError struct {
	Source  string
	Offset  int64  // of the Hello
	Version uint16 // the Hello's
}

func (e *VersionError) Error() string {
	return "feed: " + e.Source + ": offset " + strconv.FormatInt(e.Offset, 10) +
		": native format version " + strconv.Itoa(int(e.Version)) + ", this decoder reads version " +
		strconv.Itoa(FormatVersion) + " only: the rest of the stream is not read"
}

func (e *VersionError) Unwrap() error { return ReasonVersion }

// EndsStream reports whether err is one that ends a native stream (the
// decoder returns it from every later Decode): a *FrameTooLargeError or a
// *VersionError, already reported to Options.OnError.
func EndsStream(err error) bool {
	return errors.Is(err, ReasonFrameTooLarge) || errors.Is(err, ReasonVersion)
}

// TimeAheadError reports a tick rejected as ReasonTimeAhead (which it
// wraps): its event time, the receive time Options.MaxAhead counted from
// (in a replayed capture, the one recorded) and the limit, so that the
// report says how far ahead it was: a clock, a time zone or a typo.
type TimeAheadError struct {
	Event, AheadOf int64 // ns since the epoch
	MaxAhead       time.Duration
}

func (e *TimeAheadError) Error() string {
	return "feed: event time " + formatNs(e.Event) + " is " + time.Duration(e.Event-e.AheadOf).String() +
		" past its receive time " + formatNs(e.AheadOf) + ", more than MaxAhead " + e.MaxAhead.String()
}

func (e *TimeAheadError) Unwrap() error { return ReasonTimeAhead }

// formatNs is ns since the epoch in RFC 3339, UTC.
func formatNs(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
