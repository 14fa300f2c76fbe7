package feed

import (
	"encoding/binary"

	"github.com/tickd/tickd/tick"
)

// Native frame types.
const (
	TypeHello     = 1
	TypeSymbol    = 2
	TypeTrade     = 3
	TypeHeartbeat = 4
	TypeEnd       = 5
)

// Native format constants. Lengths are values of the u16 length prefix (the
// bytes after it); a whole frame is 2 bytes longer.
const (
	Magic         = "TKDF" // first 4 body bytes of a Hello
	FormatVersion = 1      // the native format version this package speaks

	prefixLen    = 2
	headerLen    = prefixLen + 1 + 8 // len, type, seq
	lenHeartbeat = headerLen - prefixLen
	lenHello     = lenHeartbeat + 4 + 2
	lenSymbolMin = lenHeartbeat + 4 + 1
	lenSymbolMax = lenHeartbeat + 4 + tick.MaxSymbolLen
	lenTrade     = lenHeartbeat + 4 + 8 + 8 + 8 + 1
	lenEnd       = lenHeartbeat + 8

	// TradeFrameSize is the size of a whole Trade frame, prefix included.
	TradeFrameSize = prefixLen + lenTrade

	// maxLocalSymbols bounds a connection's local symbol index, and so the
	// memory a peer can make the decoder hold (4 bytes per index).
	maxLocalSymbols = 1 << 18
)

var le = binary.LittleEndian

func appendHeader(dst []byte, length int, typ byte, seq uint64) []byte {
	dst = le.AppendUint16(dst, uint16(length))
	dst = append(dst, typ)
	return le.AppendUint64(dst, seq)
}

// AppendHello appends a Hello frame (magic and FormatVersion) to dst.
func AppendHello(dst []byte, seq uint64) []byte {
	dst = appendHeader(dst, lenHello, TypeHello, seq)
	dst = append(dst, Magic...)
	return le.AppendUint16(dst, FormatVersion)
}

// AppendSymbol appends a Symbol frame defining connection-local index local
// as name. name must be a valid symbol (tick.ValidSymbol) or the receiver
// rejects the frame.
func AppendSymbol(dst []byte, seq uint64, local uint32, name string) []byte {
	dst = appendHeader(dst, lenSymbolMin-1+len(name), TypeSymbol, seq)
	dst = le.AppendUint32(dst, local)
	return append(dst, name...)
}

// AppendTrade appends a Trade frame (TradeFrameSize bytes) to dst.
func AppendTrade(dst []byte, seq uint64, local uint32, tsEvent int64, price tick.Price, qty int64, side tick.Side) []byte {
	dst = appendHeader(dst, lenTrade, TypeTrade, seq)
	dst = le.AppendUint32(dst, local)
	dst = le.AppendUint64(dst, uint64(tsEvent))
	dst = le.AppendUint64(dst, uint64(price))
	dst = le.AppendUint64(dst, uint64(qty))
	return append(dst, byte(side))
}

// AppendHeartbeat appends a Heartbeat frame to dst.
func AppendHeartbeat(dst []byte, seq uint64) []byte {
	return appendHeader(dst, lenHeartbeat, TypeHeartbeat, seq)
}

// AppendEnd appends an End-of-session frame to dst.
func AppendEnd(dst []byte, seq uint64, tsEvent int64) []byte {
	dst = appendHeader(dst, lenEnd, TypeEnd, seq)
	return le.AppendUint64(dst, uint64(tsEvent))
}

// NativeEncoder numbers the frames of one connection (1, 2, 3, ...) and
// assigns local symbol indexes, for writers such as the simulator. The zero
// value starts a connection; it is not safe for concurrent use.
type NativeEncoder struct {
	seq    uint64
	locals map[string]uint32
}

func (e *NativeEncoder) next() uint64 { e.seq++; return e.seq }

// Seq is the sequence number of the last frame appended.
func (e *NativeEncoder) Seq() uint64 { return e.seq }

// Hello appends the connection's Hello.
func (e *NativeEncoder) Hello(dst []byte) []byte { return AppendHello(dst, e.next()) }

// Trade appends a Trade for symbol, preceded by its Symbol frame the first
// time symbol is seen on this connection.
func (e *NativeEncoder) Trade(dst []byte, symbol string, tsEvent int64, price tick.Price, qty int64, side tick.Side) []byte {
	local, ok := e.locals[symbol]
	if !ok {
		if e.locals == nil {
			e.locals = make(map[string]uint32)
		}
		local = uint32(len(e.locals))
		e.locals[symbol] = local
		dst = AppendSymbol(dst, e.next(), local, symbol)
	}
	return AppendTrade(dst, e.next(), local, tsEvent, price, qty, side)
}

// Heartbeat appends a Heartbeat.
func (e *NativeEncoder) Heartbeat(dst []byte) []byte { return AppendHeartbeat(dst, e.next()) }

// End appends the End-of-session frame.
func (e *NativeEncoder) End(dst []byte, tsEvent int64) []byte {
	return AppendEnd(dst, e.next(), tsEvent)
}
