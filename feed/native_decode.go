package feed

import (
	"github.com/tickd/tickd/tick"
)

// decodeNative is Decode for the native format. fastTrades takes the runs
// of well-formed, in-sequence Trades; every other frame (the first of a
// connection, other types, gaps, bad frames, a full dst) comes here, one at
// a time, with its reports.
func (d *Decoder) decodeNative(dst []tick.Event, src []byte) (n, off int) {
	frames := 0
	for {
		if d.hello {
			k, c := fastTrades(dst[n:], src[off:], d.next, d.local, d.tsRecv, d.latest, d.sourceID)
			n, off, frames = n+k, off+c, frames+k
			d.next += uint64(k)
		}
		if len(src)-off < prefixLen {
			break
		}
		l := int(le.Uint16(src[off:]))
		at := d.off + int64(off)
		if l > d.maxFrame {
			d.tooLarge(at, l, src[off:])
			break
		}
		end := off + prefixLen + l
		if end > len(src) {
			break
		}
		f := src[off:end]
		if !d.hello {
			d.firstFrame(f, at)
		}
		if needsSlot(f) && n == len(dst) {
			break
		}
		frames++
		n += d.nativeFrame(dst[n:], f, at)
		off = end
		if d.fatal != nil {
			break
		}
	}
	d.stats.Frames += uint64(frames)
	d.stats.Events += uint64(n)
	return n, off
}

// fastTrades decodes the run of well-formed Trade frames at the front of
// src whose sequence numbers follow on from next, up to len(dst) of them.
// It stops at anything else and leaves it to the caller. No calls, few live
// values: the loop stays in registers.
func fastTrades(dst []tick.Event, src []byte, next uint64, local []tick.SymbolID, recv, latest int64, source uint16) (n, off int) {
	for ; n < len(dst) && off+TradeFrameSize <= len(src); n++ {
		f := src[off : off+TradeFrameSize]
		if le.Uint16(f) != lenTrade || f[2] != TypeTrade || le.Uint64(f[3:]) != next {
			break
		}
		// validTrade's checks, spelled out so the loop stays in registers.
		idx := le.Uint32(f[11:])
		if idx >= uint32(len(local)) {
			break
		}
		sym := local[idx]
		if sym == noSymbol || int64(le.Uint64(f[23:])) <= 0 || !tick.ValidQty(int64(le.Uint64(f[31:]))) || f[39] > byte(tick.SideSell) ||
			int64(le.Uint64(f[15:])) > latest {
			break
		}
		putTrade(&dst[n], f, sym, recv, source)
		off += TradeFrameSize
		next++
	}
	return n, off
}

// validTrade checks the fields of a whole Trade frame (its event time no
// later than latest) and resolves its local symbol; tradeReason names what
// is wrong when it fails.
func validTrade(f []byte, local []tick.SymbolID, latest int64) (tick.SymbolID, bool) {
	_ = f[TradeFrameSize-1]
	idx := le.Uint32(f[11:])
	if idx >= uint32(len(local)) {
		return 0, false
	}
	sym := local[idx]
	ok := sym != noSymbol && int64(le.Uint64(f[23:])) > 0 && tick.ValidQty(int64(le.Uint64(f[31:]))) && f[39] <= byte(tick.SideSell) &&
		int64(le.Uint64(f[15:])) <= latest
	return sym, ok
}

func tradeReason(f []byte, local []tick.SymbolID) Reason {
	idx := le.Uint32(f[11:])
	switch {
	case idx >= uint32(len(local)) || local[idx] == noSymbol:
		return ReasonUnknownSymbol
	case int64(le.Uint64(f[23:])) <= 0:
		return ReasonPriceNotPositive
	case !tick.ValidQty(int64(le.Uint64(f[31:]))):
		return ReasonBadQty
	case f[39] > byte(tick.SideSell):
		return ReasonBadSide
	}
	return ReasonTimeAhead
}

// putTrade writes the whole Trade frame f into e, every field of the slot.
func putTrade(e *tick.Event, f []byte, sym tick.SymbolID, recv int64, source uint16) {
	_ = f[TradeFrameSize-1]
	e.Seq = le.Uint64(f[3:])
	e.TsEvent = int64(le.Uint64(f[15:]))
	e.TsRecv = recv
	e.Price = tick.Price(le.Uint64(f[23:]))
	e.Qty = int64(le.Uint64(f[31:]))
	e.OrderRef = 0
	e.NewRef = 0
	e.Symbol = sym
	e.Kind = tick.KindTrade
	e.Side = tick.Side(f[39])
	e.Source = source
}

// needsSlot says whether frame f may produce an event.
func needsSlot(f []byte) bool {
	return len(f) > 2 && (f[2] == TypeTrade || f[2] == TypeEnd)
}

// tooLarge ends the connection: a length above MaxFrame means the framing
// can no longer be trusted. Nothing is allocated for the bogus length; the
// error itself is the one allocation. f is the source from the bad prefix
// on: a stream that starts with text was most likely sent in another format.
func (d *Decoder) tooLarge(at int64, l int, f []byte) {
	e := &FrameTooLargeError{Source: d.source, Offset: at, Length: l, Max: d.maxFrame}
	if at == 0 {
		e.Text = textStart(f)
	}
	d.fatal = e
	d.rejectAs(at, 0, ReasonFrameTooLarge, e)
}

// otherVersion ends the stream at a Hello of another format version:
// nothing after it can be read with this version's layouts.
func (d *Decoder) otherVersion(at int64, seq uint64, v uint16) {
	e := &VersionError{Source: d.source, Offset: at, Version: v}
	d.fatal = e
	d.rejectAs(at, seq, ReasonVersion, e)
}

// firstFrame checks that a connection starts with a Hello. A missing Hello
// is reported once; the frame is then decoded as usual.
func (d *Decoder) firstFrame(f []byte, at int64) {
	d.hello = true
	if len(f) <= 2 || f[2] != TypeHello {
		var seq uint64
		if len(f) >= headerLen {
			seq = le.Uint64(f[3:])
		}
		d.reject(at, seq, ReasonNoHello)
	}
}

// nativeFrame decodes one frame with all its checks and reports. f
// is the whole frame, at its source offset. It returns the events written to
// dst (0 or 1); the caller made sure dst has room if needsSlot(f).
func (d *Decoder) nativeFrame(dst []tick.Event, f []byte, at int64) int {
	l := len(f) - prefixLen
	if l < lenHeartbeat {
		d.reject(at, 0, ReasonBadLength) // no room for type and seq: nothing to track
		return 0
	}
	typ, seq := f[2], le.Uint64(f[3:])
	if r := frameShape(typ, l); r != reasonNone {
		// A malformed frame's sequence may be as garbled as the rest of
		// it: trusted only if it is the one due, never as a gap.
		if seq == d.next {
			d.next++
		}
		d.reject(at, seq, r)
		return 0
	}
	if seq != d.next {
		d.gap(at, d.next, seq)
	}
	d.next = seq + 1
	switch typ {
	case TypeHello:
		switch {
		case string(f[11:15]) != Magic:
			d.reject(at, seq, ReasonBadMagic)
		case le.Uint16(f[15:]) != FormatVersion:
			d.otherVersion(at, seq, le.Uint16(f[15:]))
		}
	case TypeSymbol:
		d.defineSymbol(le.Uint32(f[11:]), f[15:], at, seq)
	case TypeTrade:
		sym, ok := validTrade(f, d.local, d.latest)
		if !ok {
			d.rejectTrade(at, seq, tradeReason(f, d.local), int64(le.Uint64(f[15:])))
			return 0
		}
		putTrade(&dst[0], f, sym, d.tsRecv, d.sourceID)
		return 1
	case TypeEnd:
		dst[0] = tick.Event{
			Seq:     seq,
			TsEvent: int64(le.Uint64(f[11:])),
			TsRecv:  d.tsRecv,
			Kind:    tick.KindEndOfStream,
			Source:  d.sourceID,
		}
		return 1
	}
	return 0 // a Heartbeat, or a Hello or Symbol handled above
}

// frameShape says what is wrong, if anything, with a frame of type typ
// whose body (type byte on) is l bytes long.
func frameShape(typ byte, l int) Reason {
	var ok bool
	switch typ {
	case TypeHello:
		ok = l == lenHello
	case TypeSymbol:
		ok = l >= lenSymbolMin && l <= lenSymbolMax
	case TypeTrade:
		ok = l == lenTrade
	case TypeHeartbeat:
		ok = l == lenHeartbeat
	case TypeEnd:
		ok = l == lenEnd
	default:
		return ReasonUnknownType
	}
	if !ok {
		return ReasonBadLength
	}
	return reasonNone
}

// defineSymbol binds local index idx to name for this connection, interning
// the name at the edge.
func (d *Decoder) defineSymbol(idx uint32, name []byte, at int64, seq uint64) {
	if idx >= maxLocalSymbols {
		d.reject(at, seq, ReasonBadSymbol)
		return
	}
	id, r := d.resolve(name)
	if r != reasonNone {
		d.reject(at, seq, r)
		return
	}
	for uint32(len(d.local)) <= idx {
		d.local = append(d.local, noSymbol)
	}
	d.local[idx] = id
}

// textStart returns the length prefix at the front of b if both its bytes
// are printable ASCII (the start of a CSV or JSON line), else "". Only the
// prefix: the report must not depend on how much more a read brought.
func textStart(b []byte) string {
	for _, c := range b[:prefixLen] {
		if c < ' ' || c > '~' {
			return ""
		}
	}
	return string(b[:prefixLen])
}
