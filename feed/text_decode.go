package feed

import (
	"bytes"
	"errors"

	"github.com/tickd/tickd/tick"
)

// fields are the raw values of one text line, sliced from the input.
type fields struct {
	ts, symbol, price, size, side []byte
}

// utf8BOM opens files some tools write (Excel's "CSV UTF-8"): a mark of
// the encoding before the first line, not part of it.
const utf8BOM = "\xEF\xBB\xBF"

// reasonSkip is returned by a line parser for a line that is not an error
// but carries no event (a CSV header).
const reasonSkip = Reason(255)

func indexNL(b []byte) int { return bytes.IndexByte(b, '\n') }

// decodeText is Decode for the line formats.
func (d *Decoder) decodeText(dst []tick.Event, src []byte) (n, off int) {
	for off < len(src) && n < len(dst) {
		rest := src[off:]
		i := indexNL(rest)
		if i < 0 {
			if len(rest) > d.maxFrame+1 && !d.skipping {
				// No '\n' within MaxFrame (and a '\r'): report the line
				// now and drop its bytes until its end arrives.
				d.line++
				d.stats.Frames++
				d.reject(d.off+int64(off), d.line, ReasonLineTooLong)
				d.skipping = true
			}
			if d.skipping {
				off = len(src)
			}
			break
		}
		at := d.off + int64(off)
		off += i + 1
		if d.skipping {
			d.skipping = false // the end of the overlong line
			continue
		}
		if d.textLine(&dst[n], rest[:i], at) {
			n++
		}
	}
	return n, off
}

// textLine decodes one line (without its '\n') into e and reports whether
// it produced an event. Blank lines, comments and headers produce none.
func (d *Decoder) textLine(e *tick.Event, line []byte, at int64) bool {
	d.line++
	d.stats.Frames++
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1] // MaxFrame bounds the line, not its ending
	}
	if at == 0 && len(line) >= len(utf8BOM) && string(line[:len(utf8BOM)]) == utf8BOM {
		line = line[len(utf8BOM):]
	}
	if len(line) > d.maxFrame {
		d.reject(at, d.line, ReasonLineTooLong)
		return false
	}
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i == len(line) || line[i] == '#' {
		return false
	}
	var f fields
	var r Reason
	if d.format == FormatCSV {
		r = parseCSV(line, &f, &d.cols)
	} else {
		r = parseJSON(line, &f)
	}
	if r == reasonNone {
		r = d.fill(e, &f)
	}
	switch r {
	case reasonNone:
		d.stats.Events++
		return true
	case reasonSkip:
	default:
		d.rejectLine(at, r, e.TsEvent, &f)
	}
	return false
}

// rejectLine rejects a line whose fields failed for reason r (its event
// time ts): a rejected price, size or time is reported with the text
// read (FieldError), since one reason covers several faults.
func (d *Decoder) rejectLine(at int64, r Reason, ts int64, f *fields) {
	v, ok := f.valueOf(r)
	if !ok || d.onError == nil {
		d.rejectTrade(at, d.line, r, ts)
		return
	}
	d.rejectAs(at, d.line, r, newFieldError(r, v))
}

// valueOf returns the field reason r rejects, if it is the price, the
// size or the time.
func (f *fields) valueOf(r Reason) ([]byte, bool) {
	switch r {
	case ReasonBadPrice, ReasonPriceNotFinite, ReasonPriceNotPositive:
		return f.price, true
	case ReasonBadQty:
		return f.size, true
	case ReasonBadTimestamp:
		return f.ts, true
	}
	return nil, false
}

// fill validates the raw fields and writes the event.
func (d *Decoder) fill(e *tick.Event, f *fields) Reason {
	ts, ok := parseTimestamp(f.ts)
	if !ok {
		return ReasonBadTimestamp
	}
	if ts > d.latest {
		e.TsEvent = ts // for the report (textLine): the slot is not handed on
		return ReasonTimeAhead
	}
	px, err := tick.ParsePriceBytes(f.price)
	switch {
	case err == tick.ErrPriceNotFinite:
		return ReasonPriceNotFinite
	case err != nil:
		return ReasonBadPrice
	case px <= 0:
		return ReasonPriceNotPositive
	}
	qty, ok := parseQty(f.size)
	if !ok {
		return ReasonBadQty
	}
	side, ok := parseSide(f.side)
	if !ok {
		return ReasonBadSide
	}
	sym, r := d.resolve(f.symbol)
	if r != reasonNone {
		return r
	}
	// Every field, one store each (no composite literal: see putTrade).
	e.Seq, e.TsEvent, e.TsRecv, e.Price, e.Qty = d.line, ts, d.tsRecv, px, qty
	e.OrderRef, e.NewRef, e.Symbol, e.Kind, e.Side, e.Source = 0, 0, sym, tick.KindTrade, side, d.sourceID
	return reasonNone
}

// resolve maps a symbol name to its ID: a lock-free lookup, or on first
// sight an intern (the one allocation per name, at the edge).
func (d *Decoder) resolve(name []byte) (tick.SymbolID, Reason) {
	if id, ok := d.syms.Lookup(name); ok {
		return id, reasonNone
	}
	if d.fixed {
		if tick.ValidSymbol(name) != nil {
			return 0, ReasonBadSymbol
		}
		return 0, ReasonUnknownSymbol
	}
	id, err := d.syms.InternBytes(name)
	switch {
	case err == nil:
		return id, reasonNone
	case errors.Is(err, tick.ErrSymbolFull):
		return 0, ReasonSymbolTableFull
	default:
		return 0, ReasonBadSymbol
	}
}

// parseQty parses a size: decimal digits, value in 1..tick.MaxQty.
func parseQty(b []byte) (int64, bool) {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return 0, false
	}
	v, ok := parseInt(b)
	return v, ok && tick.ValidQty(v)
}

// parseInt parses an optionally '-'-signed decimal integer that fits int64.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0') // 19 digits cannot overflow uint64
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// parseSide accepts "", B, S, buy, sell in any case.
func parseSide(b []byte) (tick.Side, bool) {
	switch len(b) {
	case 0:
		return tick.SideNone, true
	case 1:
		switch b[0] | 0x20 {
		case 'b':
			return tick.SideBuy, true
		case 's':
			return tick.SideSell, true
		}
	case 3:
		if b[0]|0x20 == 'b' && b[1]|0x20 == 'u' && b[2]|0x20 == 'y' {
			return tick.SideBuy, true
		}
	case 4:
		if b[0]|0x20 == 's' && b[1]|0x20 == 'e' && b[2]|0x20 == 'l' && b[3]|0x20 == 'l' {
			return tick.SideSell, true
		}
	}
	return tick.SideNone, false
}
