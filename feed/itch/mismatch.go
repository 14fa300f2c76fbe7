package itch

import (
	"encoding/binary"
	"fmt"
)

// StockMismatchError is ReasonStockMismatch with what the message named,
// so that a report can say which locate and which stocks disagree (the
// Reason alone, a fixed value so that Decode does not allocate, cannot).
// Decoder.Explain makes it; errors.Is(err, ReasonStockMismatch) holds.
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

// Explain returns err, what Decode returned for msg, with what the message
// names where its Reason alone does not say enough: ReasonStockMismatch as
// a *StockMismatchError. Other errors are returned as they are. Call it
// on the error path only (it allocates), and before the next Decode (which
// may announce the locate again).
func (d *Decoder) Explain(msg []byte, err error) error {
	if err != ReasonStockMismatch {
		return err
	}
	stock := stockField(msg)
	if stock == nil {
		return err
	}
	loc := be.Uint16(msg[1:])
	var announced [8]byte
	binary.LittleEndian.PutUint64(announced[:], d.locs[loc].stock)
	return &StockMismatchError{Type: msg[0], Locate: loc, Stock: string(trimSpace(stock)), Announced: string(trimSpace(announced[:]))}
}

// stockField returns the Stock field of a whole A F H P Q message, nil for
// another type or length.
func stockField(msg []byte) []byte {
	if len(msg) == 0 || len(msg) != int(MsgLen[msg[0]]) {
		return nil
	}
	switch v := View(msg); msg[0] {
	case TypeAddOrder, TypeAddOrderMPID:
		return AddOrderView{v}.Stock()
	case TypeTrade:
		return TradeView{v}.Stock()
	case TypeCrossTrade:
		return CrossView{v}.Stock()
	case TypeStockTradingAction:
		return msg[11:19]
	}
	return nil
}
