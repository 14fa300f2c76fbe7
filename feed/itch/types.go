package itch

import (
	"encoding/binary"
	"strconv"

	"github.com/tickd/tickd/tick"
)

// ITCH 5.0 message types (the first byte of every message).
const (
	TypeSystemEvent          byte = 'S'
	TypeStockDirectory       byte = 'R'
	TypeStockTradingAction   byte = 'H'
	TypeRegSHORestriction    byte = 'Y'
	TypeMarketParticipant    byte = 'L'
	TypeMWCBDeclineLevel     byte = 'V'
	TypeMWCBStatus           byte = 'W'
	TypeIPOQuotingPeriod     byte = 'K'
	TypeLULDAuctionCollar    byte = 'J'
	TypeOperationalHalt      byte = 'h'
	TypeAddOrder             byte = 'A'
	TypeAddOrderMPID         byte = 'F'
	TypeOrderExecuted        byte = 'E'
	TypeOrderExecutedPrice   byte = 'C'
	TypeOrderCancel          byte = 'X'
	TypeOrderDelete          byte = 'D'
	TypeOrderReplace         byte = 'U'
	TypeTrade                byte = 'P'
	TypeCrossTrade           byte = 'Q'
	TypeBrokenTrade          byte = 'B'
	TypeNOII                 byte = 'I'
	TypeRetailPriceImprove   byte = 'N'
	TypeDirectListingCapital byte = 'O'
)

// HeaderLen is the length of the header every message starts with.
const HeaderLen = 11

// MsgLen is the exact total length of each message type, header included,
// indexed by the type byte; 0 means the type is not an ITCH 5.0 message.
var MsgLen = [256]uint8{
	'S': 12, 'R': 39, 'H': 25, 'Y': 20, 'L': 26, 'V': 35, 'W': 12, 'K': 28,
	'J': 35, 'h': 21, 'A': 36, 'F': 40, 'E': 31, 'C': 36, 'X': 23, 'D': 19,
	'U': 35, 'P': 44, 'Q': 40, 'B': 19, 'I': 50, 'N': 20, 'O': 48,
}

// Types lists every ITCH 5.0 message type, in the order of the specification.
var Types = [...]byte{'S', 'R', 'H', 'Y', 'L', 'V', 'W', 'K', 'J', 'h', 'A', 'F', 'E', 'C', 'X', 'D', 'U', 'P', 'Q', 'B', 'I', 'N', 'O'}

// Reason says why a message was rejected. Reasons are errors, comparable with
// errors.Is; converting one to an error does not allocate.
type Reason uint8

// Reasons. Each is counted separately in Counters.ByReason.
const (
	reasonNone            Reason = iota
	ReasonEmpty                  // a zero-length message where one was expected
	ReasonUnknownType            // type byte is not an ITCH 5.0 message (skipped, counted)
	ReasonBadLength              // known type, wrong length for it
	ReasonUnknownLocate          // stock locate never announced by R, and the message names no stock
	ReasonBadSide                // buy/sell indicator neither B nor S
	ReasonBadPrintable           // C printable flag neither Y nor N
	ReasonBadSymbol              // stock field is not a valid symbol (blank, control bytes)
	ReasonSymbolTableFull        // a new symbol did not fit the symbol table
	ReasonPriceRange             // Price(8) does not fit a tick.Price
	ReasonQtyRange               // share count above tick.MaxQty
	ReasonTruncated              // the file ended inside a message
	ReasonStockMismatch          // A F H P Q: the Stock field names another stock than the one its locate was announced for
	NumReasons                   // number of reasons, for arrays indexed by Reason
)

var reasonNames = [NumReasons]string{"none", "empty", "unknown_type", "bad_length", "unknown_locate",
	"bad_side", "bad_printable", "bad_symbol", "symbol_table_full", "price_range", "qty_range", "truncated", "stock_mismatch"}

var reasonText = [NumReasons]string{
	"itch: no error",
	"itch: empty message",
	"itch: unknown message type",
	"itch: wrong length for message type",
	"itch: stock locate not announced by a stock directory message",
	"itch: buy/sell indicator not B or S",
	"itch: printable flag not Y or N",
	"itch: invalid stock symbol",
	"itch: symbol table full",
	"itch: price out of range",
	"itch: share count above 10^12 (tick.MaxQty)",
	"itch: file ended inside a message",
	"itch: stock field disagrees with the stock its locate was announced for",
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
	return "itch: " + r.String()
}

// Check validates the framing of one message: it is not empty, its type is
// known, and its length is exactly MsgLen for the type. It returns the type.
// Every Decode function assumes Check passed (it panics on a short slice).
func Check(msg []byte) (byte, error) {
	if len(msg) == 0 {
		return 0, ReasonEmpty
	}
	t := msg[0]
	n := MsgLen[t]
	if n == 0 {
		return t, ReasonUnknownType
	}
	if len(msg) != int(n) {
		return t, ReasonBadLength
	}
	return t, nil
}

// Header is the 11-byte header every message starts with (the type byte is
// implied by the message struct that embeds it).
type Header struct {
	Locate    uint16 // stock locate: the session's index for the stock; 0 for none
	Tracking  uint16 // NASDAQ internal tracking number
	Timestamp uint64 // ns since midnight of the session date (48 bits)
}

// DecodeHeader reads the header of msg, which must hold at least HeaderLen bytes.
func DecodeHeader(msg []byte) Header {
	_ = msg[10]
	return Header{
		Locate:    binary.BigEndian.Uint16(msg[1:]),
		Tracking:  binary.BigEndian.Uint16(msg[3:]),
		Timestamp: timestamp(msg),
	}
}

// timestamp reads the 6-byte timestamp at msg[5:11] with one 8-byte load
// from msg[3:] (which takes in the tracking number) and a mask.
func timestamp(msg []byte) uint64 {
	return binary.BigEndian.Uint64(msg[3:11]) & (1<<48 - 1)
}

// Stock is an 8-byte alpha field: ASCII, right-padded with spaces.
type Stock [8]byte

// MakeStock pads (or truncates) name to a Stock.
func MakeStock(name string) Stock {
	s := Stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}
	copy(s[:], name)
	return s
}

// Trim returns the name without its padding, aliasing s.
func (s *Stock) Trim() []byte { return trimSpace(s[:]) }

// String returns the name without its padding.
func (s Stock) String() string { return string(s.Trim()) }

// trimSpace drops the right padding of an alpha field.
func trimSpace(b []byte) []byte {
	n := len(b)
	for n > 0 && b[n-1] == ' ' {
		n--
	}
	return b[:n]
}

// Price4 converts an ITCH Price(4) to a tick.Price; it is always exact.
func Price4(u uint32) tick.Price { return tick.Price(int64(u) * 100_000) }

// Price8 converts an ITCH Price(8) to a tick.Price; it reports false when the
// value does not fit (above about 922 million).
func Price8(u uint64) (tick.Price, bool) {
	if u > 1<<63-1 {
		return 0, false
	}
	return tick.PriceFromUnits(int64(u), 8)
}

// units4 converts a tick.Price back to Price(4) units, truncating any finer
// fraction; prices outside 0..429496.7295 wrap (encoders are for tests and
// simulators, which produce valid prices).
func units4(p tick.Price) uint32 { return uint32(p / 100_000) }

// units8 converts a tick.Price back to Price(8) units.
func units8(p tick.Price) uint64 { return uint64(p / 10) }
