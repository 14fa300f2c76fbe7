package feed

import (
	"github.com/tickd/tickd/tick"
)

// decodeNative is Decode for the native format. The loop body is the fast
// path for a well-formed Trade; every other frame goes to nativeFrame.
func (d *Decoder) decodeNative(dst []tick.Event, src []byte) (n, off int) {
	var (
		next     = d.next
		local    = d.local
		recv     = d.tsRecv
		source   = d.sourceID
		maxFrame = d.maxFrame
		frames   uint64
	)
	for len(src)-off >= prefixLen {
		l := int(le.Uint16(src[off:]))
		if l > maxFrame {
			d.next = next
			d.tooLarge(d.off+int64(off), l)
			break
		}
		end := off + prefixLen + l
		if end > len(src) {
			break
		}
		f := src[off:end]
		if !d.hello {
			d.firstFrame(f, d.off+int64(off))
		}
		if l != lenTrade || f[2] != TypeTrade {
			if needsSlot(f) && n == len(dst) {
				break
			}
			d.next = next
			n += d.nativeFrame(dst[n:], f, d.off+int64(off))
			next, local = d.next, d.local
			frames++
			off = end
			continue
		}
		if n == len(dst) {
			break
		}
		_ = f[TradeFrameSize-1] // one bounds check for the loads below
		seq := le.Uint64(f[3:])
		if seq != next {
			d.gap(d.off+int64(off), next, seq)
		}
		next = seq + 1
		idx := le.Uint32(f[11:])
		px := int64(le.Uint64(f[23:]))
		qty := int64(le.Uint64(f[31:]))
		side := f[39]
		frames++
		if idx >= uint32(len(local)) || local[idx] == noSymbol || px <= 0 || qty <= 0 || side > byte(tick.SideSell) {
			d.reject(d.off+int64(off), seq, tradeReason(idx, local, px, qty, side))
			off = end
			continue
		}
		dst[n] = tick.Event{
			Seq:     seq,
			TsEvent: int64(le.Uint64(f[15:])),
			TsRecv:  recv,
			Price:   tick.Price(px),
			Qty:     qty,
			Symbol:  local[idx],
			Kind:    tick.KindTrade,
			Side:    tick.Side(side),
			Source:  source,
		}
		n++
		off = end
	}
	d.next = next
	d.stats.Frames += frames
	d.stats.Events += uint64(n)
	return n, off
}

// needsSlot says whether frame f may produce an event.
func needsSlot(f []byte) bool {
	return len(f) > 2 && (f[2] == TypeTrade || f[2] == TypeEnd)
}

func tradeReason(idx uint32, local []tick.SymbolID, px, qty int64, side byte) Reason {
	switch {
	case idx >= uint32(len(local)) || local[idx] == noSymbol:
		return ReasonUnknownSymbol
	case px <= 0:
		return ReasonPriceNotPositive
	case qty <= 0:
		return ReasonBadQty
	default:
		return ReasonBadSide
	}
}

// tooLarge ends the connection: a length above MaxFrame means the framing
// can no longer be trusted. Nothing is allocated for the bogus length; the
// error itself is the one allocation.
func (d *Decoder) tooLarge(at int64, l int) {
	d.stats.Errors++
	d.stats.ByReason[ReasonFrameTooLarge]++
	d.fatal = &FrameTooLargeError{Source: d.source, Offset: at, Length: l, Max: d.maxFrame}
	if d.onError != nil {
		d.onError(d.source, at, 0, d.fatal)
	}
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

// nativeFrame handles every frame but a well-formed Trade: the other types
// and bad lengths. f
// is the whole frame, at its source offset. It returns the events written to
// dst (0 or 1); the caller made sure dst has room if needsSlot(f).
func (d *Decoder) nativeFrame(dst []tick.Event, f []byte, at int64) int {
	l := len(f) - prefixLen
	if l < lenHeartbeat {
		d.reject(at, 0, ReasonBadLength) // no room for type and seq: nothing to track
		return 0
	}
	typ, seq := f[2], le.Uint64(f[3:])
	if seq != d.next {
		d.gap(at, d.next, seq)
	}
	d.next = seq + 1
	switch typ {
	case TypeHello:
		if l != lenHello {
			break
		}
		switch {
		case string(f[11:15]) != Magic:
			d.reject(at, seq, ReasonBadMagic)
		case le.Uint16(f[15:]) != FormatVersion:
			d.reject(at, seq, ReasonVersion)
		}
		return 0
	case TypeSymbol:
		if l < lenSymbolMin || l > lenSymbolMax {
			break
		}
		d.defineSymbol(le.Uint32(f[11:]), f[15:], at, seq)
		return 0
	case TypeTrade:
		// Only a Trade of the wrong length comes here.
	case TypeHeartbeat:
		if l != lenHeartbeat {
			break
		}
		return 0
	case TypeEnd:
		if l != lenEnd {
			break
		}
		dst[0] = tick.Event{
			Seq:     seq,
			TsEvent: int64(le.Uint64(f[11:])),
			TsRecv:  d.tsRecv,
			Kind:    tick.KindEndOfStream,
			Source:  d.sourceID,
		}
		return 1
	default:
		d.reject(at, seq, ReasonUnknownType)
		return 0
	}
	d.reject(at, seq, ReasonBadLength)
	return 0
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
