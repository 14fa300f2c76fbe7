package tick

import (
	"strconv"
	"unsafe"
)

// Kind says what an Event reports.
type Kind uint8

// Event kinds. Trade carries a print; the order kinds carry L3 book changes;
// the venue kinds carry session state; EndOfStream tells the engine that a
// source has ended its session so bars still open are published.
//
// How the L3 and venue kinds use the Event fields (ITCH 5.0 letters):
//
//	kind          ITCH  OrderRef   NewRef        Price             Qty              Side
//	Add           A F   order      -             limit             shares           B/S
//	Execute       E     order      match number  0 (resting price) shares executed  -
//	ExecutePrice  C     order      match number  execution price   shares executed  -  (printable)
//	ExecuteNoPrint C    order      match number  execution price   shares executed  -  (not printable: no volume)
//	Cancel        X     order      -             -                 shares cancelled -
//	Delete        D     order      -             -                 -                -
//	Replace       U     original   new order     new limit         new shares       -  (side kept)
//	Trade         P     0          match number  price             shares           B/S
//	CrossTrade    Q     -          match number  cross price       shares           -  (Qty's cross type in Side)
//	BrokenTrade   B     -          match number  -                 -                -
//	System        S     -          -             -                 event code byte  -
//	Directory     R     -          -             -                 round lot size   -  (Symbol is the new mapping)
//	TradingState  H     -          -             -                 state byte       -
const (
	KindNone           Kind = iota
	KindTrade               // a print: Price, Qty, optional Side (aggressor)
	KindQuote               // a top-of-book update: Price on Side, Qty
	KindAdd                 // new resting order OrderRef: Side, Price, Qty
	KindExecute             // OrderRef executed for Qty at its resting price
	KindCancel              // OrderRef reduced by Qty
	KindDelete              // OrderRef removed
	KindReplace             // OrderRef replaced by NewRef with Price, Qty
	KindEndOfStream         // the source ended its session
	KindExecutePrice        // OrderRef executed for Qty at Price (printable)
	KindExecuteNoPrint      // as ExecutePrice, but not to be counted in volume
	KindCrossTrade          // a cross: Price, Qty
	KindBrokenTrade         // the trade with match number NewRef was broken
	KindSystem              // a system event; Qty holds the event code byte
	KindDirectory           // a symbol was announced (Symbol); Qty holds its round lot
	KindTradingState        // Symbol's trading state changed; Qty holds the state byte
	kindCount
)

var kindNames = [kindCount]string{"none", "trade", "quote", "add", "execute", "cancel", "delete", "replace", "end",
	"execute_price", "execute_noprint", "cross", "broken", "system", "directory", "trading_state"}

func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MaxQty is the largest trade size the feeds take (a bigger one is rejected
// as bad input): 10^12, past any real print in shares or contracts, though
// not in a fine base unit (10^12 satoshi is 10,000 BTC: such a feed sends
// sizes in a coarser unit, as the README's input formats say); small
// enough that a symbol's volume (int64) and Σprice×qty (128 bits, at any
// price) stay exact over 9.2 million trades of that size, where a few
// sizes near 2^63 would wrap them.
const MaxQty = 1_000_000_000_000

// ValidQty reports whether q is a trade size the feeds take: 1..MaxQty.
func ValidQty(q int64) bool { return uint64(q)-1 < MaxQty }

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
