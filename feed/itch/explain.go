package itch

import (
	"encoding/binary"
	"fmt"
)

// A Decoder returns fixed Reason values, so that Decode does not allocate;
// a report of a rejected message needs more to be acted on (which locate,
// which stock, which byte). Decoder.Explain builds that on the error path.

// MessageError is a rejected message's Reason with where it was and what
// was wrong in it: its type and locate and, where one field is at fault,
// that field as the message held it. errors.Is(err, its Reason) holds.
type MessageError struct {
	Reason Reason
	Type   byte   // the message's type byte
	Len    int    // its length
	Locate uint16 // its stock locate (0 if it is too short to hold one)
	Field  string // the field at fault (a side or printable flag, a stock), trimmed; "" if none is
}

func (e *MessageError) Error() string {
	s := fmt.Sprintf("%v: %q message", e.Reason, e.Type)
	want := MsgLen[e.Type] // 0: an unknown type, whose layout (and so locate) is unknown
	if want == 0 || e.Reason == ReasonBadLength {
		s += fmt.Sprintf(" of %d bytes", e.Len)
		if want != 0 {
			s += fmt.Sprintf(" (not %d)", want)
		}
	}
	if want != 0 && e.Len >= 3 {
		s += fmt.Sprintf(" on locate %d", e.Locate)
	}
	if e.Field != "" {
		s += fmt.Sprintf(" holds %q", e.Field)
	}
	return s
}

func (e *MessageError) Unwrap() error { return e.Reason }

// StockMismatchError is ReasonStockMismatch with the locate and the two
// stocks that disagree. errors.Is(err, ReasonStockMismatch) holds.
type StockMismatchError struct {
	Type      byte   // the message's type: A F H P Q
	Locate    uint16 // its stock locate
	Stock     string // its Stock field, trimmed
	Announced string // the stock the locate was announced for (by R, or by the first A F H P Q on it)
}

func (e *StockMismatchError) Error() string {
	return fmt.Sprintf("itch: %c message on locate %d names stock %q, but the locate was announced for %q",
		e.Type, e.Locate, e.Stock, e.Announced)
}

func (e *StockMismatchError) Unwrap() error { return ReasonStockMismatch }

// Explain returns err, what Decode returned for msg, with where the message
// was and what was wrong in it: a stock mismatch as a *StockMismatchError,
// another Reason as a *MessageError. An error that is no Reason, and an
// empty message's, are returned as they are. Call it on the error path
// only (it allocates), and before the next Decode (which may announce the
// locate again).
func (d *Decoder) Explain(msg []byte, err error) error {
	r, ok := err.(Reason)
	if !ok || len(msg) == 0 {
		return err
	}
	e := &MessageError{Reason: r, Type: msg[0], Len: len(msg)}
	if len(msg) >= 3 {
		e.Locate = be.Uint16(msg[1:])
	}
	if len(msg) != int(MsgLen[msg[0]]) { // too short or too long for a field of it
		return e
	}
	stock := stockField(msg)
	switch t := msg[0]; {
	case r == ReasonStockMismatch && stock != nil:
		var announced [8]byte
		binary.LittleEndian.PutUint64(announced[:], d.locs[e.Locate].stock)
		return &StockMismatchError{Type: t, Locate: e.Locate, Stock: string(trimSpace(stock)), Announced: string(trimSpace(announced[:]))}
	case r == ReasonBadSide && (t == TypeAddOrder || t == TypeAddOrderMPID || t == TypeTrade): // at the same offset
		e.Field = string(msg[19:20])
	case r == ReasonBadPrintable && t == TypeOrderExecutedPrice:
		e.Field = string(msg[31:32])
	case r == ReasonBadSymbol || r == ReasonSymbolTableFull:
		e.Field = string(trimSpace(stock))
	}
	return e
}

// stockField returns the Stock field of a whole A F H P Q R message, nil
// for another type.
func stockField(msg []byte) []byte {
	switch v := View(msg); msg[0] {
	case TypeAddOrder, TypeAddOrderMPID:
		return AddOrderView{v}.Stock()
	case TypeTrade:
		return TradeView{v}.Stock()
	case TypeCrossTrade:
		return CrossView{v}.Stock()
	case TypeStockTradingAction, TypeStockDirectory:
		return msg[11:19]
	}
	return nil
}
