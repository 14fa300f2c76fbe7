package feed

import (
	"bytes"
	"math"
	"time"

	"github.com/tickd/tickd/tick"
)

// noSymbol marks a local symbol index that no Symbol frame has defined.
const noSymbol = tick.SymbolID(math.MaxUint32)

// Decoder turns one source's bytes, in any Format, into tick.Events written
// straight into caller-provided slots. It never allocates on the way (only
// when a new symbol name is interned, once per name), never writes into its
// input, and keeps its counters as plain fields. One goroutine uses it.
//
// A Decoder holds the per-connection state: the expected sequence, the local
// symbol map (native), the line number (text) and the byte offset used in
// error reports. Reset starts a new connection or file.
type Decoder struct {
	// Read by every native frame.
	next     uint64          // sequence expected next
	local    []tick.SymbolID // local index → SymbolID, noSymbol where undefined
	tsRecv   int64           // stamped on every event; set once per read
	latest   int64           // the latest event time accepted: aheadOf + maxAhead
	aheadOf  int64           // the time MaxAhead counts from (SetAheadOf), for reports
	sourceID uint16          // tick.Event.Source
	format   Format
	hello    bool // native: the connection's first frame has been checked
	skipping bool // text: dropping the rest of an overlong line
	maxFrame int
	off      int64      // offset in the source of the next byte Decode sees
	line     uint64     // text: lines consumed
	cols     csvColumns // CSV: the fields of the columns, as the last header named them
	fatal    error      // framing lost, or another format version: every later Decode returns it

	maxAhead int64 // Options.MaxAhead in ns; 0: no limit
	syms     *tick.SymbolTable
	fixed    bool
	source   string
	onError  func(source string, offset int64, seq uint64, err error)
	stats    Stats
}

// NewDecoder returns a Decoder for the source named source (used in error
// reports), stamping sourceID on every event. opts is defaulted and
// validated; of it, Format, Symbols, FixedSymbols, OnError, MaxFrame and
// MaxAhead (counted from SetRecvTime's or SetAheadOf's time) apply.
func NewDecoder(source string, sourceID uint16, opts Options) (*Decoder, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return newDecoder(source, sourceID, &o), nil
}

func newDecoder(source string, sourceID uint16, o *Options) *Decoder {
	d := &Decoder{
		sourceID: sourceID,
		format:   o.Format,
		maxFrame: o.MaxFrame,
		maxAhead: int64(o.MaxAhead),
		latest:   math.MaxInt64,
		syms:     o.Symbols,
		fixed:    o.FixedSymbols,
		source:   source,
		onError:  o.OnError,
	}
	d.Reset()
	return d
}

// Reset starts a new connection or file: the sequence starts over at 1, the
// local symbols and a CSV header's column order are forgotten, and offsets
// and line numbers restart at 0.
// Stats keep counting.
func (d *Decoder) Reset() {
	d.next = 1
	d.local = d.local[:0]
	d.hello = false
	d.skipping = false
	d.off = 0
	d.line = 0
	d.cols = csvInOrder
	d.fatal = nil
}

// SetRecvTime sets the TsRecv stamped on the events decoded from now on:
// sources call it once per read with the time the bytes arrived. It is
// also the time Options.MaxAhead counts from (SetAheadOf).
func (d *Decoder) SetRecvTime(ns int64) {
	d.tsRecv = ns
	d.SetAheadOf(ns)
}

// SetAheadOf sets the time Options.MaxAhead counts from for the events
// decoded from now on, where that is not the receive time stamped: a
// replay of a capture counts from the receive time recorded, so that it
// rejects the ticks the live session rejected.
func (d *Decoder) SetAheadOf(ns int64) {
	if d.maxAhead > 0 {
		d.aheadOf = ns
		d.latest = math.MaxInt64 // saturating ns + maxAhead
		if ns <= math.MaxInt64-d.maxAhead {
			d.latest = ns + d.maxAhead
		}
	}
}

// Stats returns the decoder's counters (Bytes stays 0: sources count bytes).
func (d *Decoder) Stats() Stats { return d.stats }

// Offset is the source offset of the next byte Decode will see.
func (d *Decoder) Offset() int64 { return d.off }

// Decode decodes whole frames (native) or lines (text) from the front of src
// into dst, and stops when src holds no further whole frame or line, or when
// the next one would need a slot and dst is full. It returns the events
// written (dst[:n]) and the bytes of src consumed; the caller keeps
// src[consumed:] and passes it again, followed by more bytes, next time.
//
// Bad frames and lines are counted, reported and skipped. The only errors
// end a native stream (EndsStream): a length prefix above MaxFrame (framing
// is lost) or a Hello of another format version (its frames cannot be
// read); the connection should end, and every later call returns the same
// error.
func (d *Decoder) Decode(dst []tick.Event, src []byte) (n, consumed int, err error) {
	if d.fatal != nil {
		return 0, 0, d.fatal
	}
	if d.format == FormatNative {
		n, consumed = d.decodeNative(dst, src)
	} else {
		n, consumed = d.decodeText(dst, src)
	}
	d.off += int64(consumed)
	return n, consumed, d.fatal
}

// Flush ends the stream: rest is what Decode left unconsumed at EOF. A
// native remainder is a truncated frame; a text remainder is decoded as a
// last line without its '\n' into dst[0], or, given no room (dst empty: a
// connection's cut-off line), counted and reported as ReasonTruncated. It
// returns the events written.
func (d *Decoder) Flush(dst []tick.Event, rest []byte) int {
	n := 0
	switch {
	case len(rest) == 0 || d.fatal != nil:
	case d.format == FormatNative:
		d.reject(d.off, 0, ReasonTruncated)
	case d.skipping:
		d.skipping = false
	case len(dst) == 0:
		d.line++
		d.stats.Frames++
		d.reject(d.off, d.line, ReasonTruncated)
	default:
		if d.textLine(&dst[0], rest, d.off) {
			n = 1
		}
	}
	d.off += int64(len(rest))
	return n
}

// skip passes over the whole frames or lines at the front of src, keeping
// none of their events, counters or reports: only the decoder's state moves
// on (the sequence, native Symbol definitions, the offset, the line count
// and a CSV header's column order). Frames are decoded; lines are counted
// and parsed only where they may be a header (skipLines). It
// stops before a native length prefix beyond MaxFrame, and returns the bytes
// consumed. A tail starting at a file's end (Options.FromEnd) skips with it
// what the file already holds.
func (d *Decoder) skip(src []byte) int {
	stats, onError := d.stats, d.onError
	d.onError = nil
	defer func() { d.stats, d.onError = stats, onError }()
	var discard [64]tick.Event
	consumed := 0
	if d.format != FormatNative && !d.skipping {
		consumed = d.skipLines(src)
	}
	for rest := src[consumed:]; d.ready(rest) && !d.framingLost(rest); rest = src[consumed:] {
		_, c, _ := d.Decode(discard[:], rest)
		if c == 0 {
			break // (cannot happen: never spin)
		}
		consumed += c
	}
	return consumed
}

// skipLines is skip for the whole lines at the front of src in a text
// format, and returns the bytes consumed: every line counts as one, but
// only a CSV line that does not start with a digit can change the
// decoder's state (a header sets the column order; a BOM, a comment or a
// blank line sets nothing), so only those are parsed. A day's CSV file
// followed from its end is skipped ~10× faster than by Decode, which
// parses every price and looks up every symbol.
func (d *Decoder) skipLines(src []byte) int {
	end := bytes.LastIndexByte(src, '\n') + 1
	var discard tick.Event
	for off := 0; off < end; {
		i := indexNL(src[off:end])
		line := src[off : off+i]
		if d.format == FormatCSV && (len(line) == 0 || line[0] < '0' || line[0] > '9') {
			d.textLine(&discard, line, d.off+int64(off))
		} else {
			d.line++
		}
		off += i + 1
	}
	d.off += int64(end)
	return end
}

// framingLost says whether src starts with a native length prefix beyond
// MaxFrame.
func (d *Decoder) framingLost(src []byte) bool {
	return d.format == FormatNative && len(src) >= prefixLen && int(le.Uint16(src)) > d.maxFrame
}

// ready says whether src starts with something Decode can consume: a whole
// frame or line, or a length or line that is already too long.
func (d *Decoder) ready(src []byte) bool {
	if d.format == FormatNative {
		if len(src) < prefixLen {
			return false
		}
		l := int(le.Uint16(src))
		return l > d.maxFrame || len(src) >= prefixLen+l
	}
	return len(src) > 0 && (d.skipping || len(src) > d.maxFrame+1 || indexNL(src) >= 0) // +1: a '\r'
}

// reject counts a bad frame or line and reports it.
func (d *Decoder) reject(at int64, seq uint64, r Reason) { d.rejectAs(at, seq, r, r) }

// rejectAs counts a bad frame or line under r and reports err, r or an
// error wrapping it that says more.
func (d *Decoder) rejectAs(at int64, seq uint64, r Reason, err error) {
	d.stats.Errors++
	d.stats.ByReason[r]++
	if d.onError != nil {
		d.onError(d.source, at, seq, err)
	}
}

// rejectTrade rejects a trade whose fields failed for reason r, its event
// time ts: one too far ahead is reported with how far (TimeAheadError).
func (d *Decoder) rejectTrade(at int64, seq uint64, r Reason, ts int64) {
	if r != ReasonTimeAhead || d.onError == nil {
		d.reject(at, seq, r)
		return
	}
	d.rejectAs(at, seq, r, &TimeAheadError{Event: ts, AheadOf: d.aheadOf, MaxAhead: time.Duration(d.maxAhead)})
}

// gap counts a sequence discontinuity and reports it.
func (d *Decoder) gap(at int64, expected, got uint64) {
	d.stats.Gaps++
	if got > expected {
		d.stats.Missed += got - expected
	}
	if d.onError != nil {
		d.onError(d.source, at, got, &GapError{Expected: expected, Got: got})
	}
}
