package tick

import (
	"strconv"
	"unsafe"
)

// Kind says what an Event reports.
type Kind uint8

// Event kinds. Trade carries a print; the order kinds carry L3 book changes;
// EndOfStream tells the engine that a source has ended its session so bars
// still open are published.
const (
	KindNone        Kind = iota
	KindTrade            // a print: Price, Qty, optional Side (aggressor)
	KindQuote            // a top-of-book update: Price on Side, Qty
	KindAdd              // new resting order OrderRef: Side, Price, Qty
	KindExecute          // OrderRef executed for Qty (at its price, or Price if set)
	KindCancel           // OrderRef reduced by Qty
	KindDelete           // OrderRef removed
	KindReplace          // OrderRef replaced by NewRef with Price, Qty
	KindEndOfStream      // the source ended its session
	kindCount
)

var kindNames = [kindCount]string{"none", "trade", "quote", "add", "execute", "cancel", "delete", "replace", "end"}

func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Side is the side of the book an order rests on or a trade's aggressor.
type Side uint8

// Sides. SideNone means unknown or not applicable.
const (
	SideNone Side = iota
	SideBuy
	SideSell
)

func (s Side) String() string {
	switch s {
	case SideBuy:
		return "buy"
	case SideSell:
		return "sell"
	}
	return ""
}

// Event is one decoded market-data message, laid out to fill exactly one
// 64-byte cache line so that a ring slot never straddles two lines. Sources
// decode straight into ring slots; the engine reads them in place.
//
//	offset size field
//	     0    8 Seq       source sequence number (per connection or session)
//	     8    8 TsEvent   event time, ns since the Unix epoch (drives every window)
//	    16    8 TsRecv    wall time the frame was read, ns since the Unix epoch
//	    24    8 Price     1e-9 fixed point
//	    32    8 Qty       shares or contracts
//	    40    8 OrderRef  order reference number (L3 kinds)
//	    48    8 NewRef    replacement order reference (KindReplace) or match number
//	    56    4 Symbol    dense symbol ID from the SymbolTable
//	    60    1 Kind
//	    61    1 Side
//	    62    2 Source    the source (connection) the event arrived on
type Event struct {
	Seq      uint64
	TsEvent  int64
	TsRecv   int64
	Price    Price
	Qty      int64
	OrderRef uint64
	NewRef   uint64
	Symbol   SymbolID
	Kind     Kind
	Side     Side
	Source   uint16
}

// EventSize is the size of an Event in bytes: one cache line.
const EventSize = 64

// Compile-time proof that Event is exactly one cache line.
var (
	_ [EventSize - unsafe.Sizeof(Event{})]byte
	_ [unsafe.Sizeof(Event{}) - EventSize]byte
)
