package book

import "github.com/tickd/tickd/tick"

// Reason names a counter: events applied by kind, events rejected or adjusted
// and why, book states entered, and slow-path growth.
type Reason uint8

// Counters. The Unknown* reasons are references the book never saw, as when a
// feed is joined mid-day; Crossed and Locked count entries into that state.
const (
	ReasonNone           Reason = iota
	ReasonAdd                   // adds applied (the new half of a replace is not counted here)
	ReasonExecute               // executions applied (E and C, printable or not)
	ReasonCancel                // cancels applied
	ReasonDelete                // deletes applied
	ReasonReplace               // replaces applied
	ReasonBrokenTrade           // broken trades seen
	ReasonIgnored               // events of kinds the book does not use
	ReasonUnknownExecute        // execute of an unknown reference
	ReasonUnknownCancel         // cancel of an unknown reference
	ReasonUnknownDelete         // delete of an unknown reference
	ReasonUnknownReplace        // replace of an unknown reference
	ReasonDuplicateRef          // add or replace naming a reference already live
	ReasonBadOrder              // side none, quantity <= 0 or > 2^32-1, or price <= 0
	ReasonBadSymbol             // symbol ID >= 2^31
	ReasonOverfill              // execute or cancel of more shares than rest (order removed)
	ReasonCrossed               // a book became crossed (bid > ask)
	ReasonLocked                // a book became locked (bid == ask)
	ReasonGrowTable             // the order table doubled
	ReasonGrowSlab              // the order slab grew past its preallocated size
	ReasonGrowBooks             // a symbol beyond Options.Symbols grew the book slice
	reasonCount
)

var reasonNames = [reasonCount]string{"none", "add", "execute", "cancel", "delete", "replace",
	"broken_trade", "ignored", "unknown_execute", "unknown_cancel", "unknown_delete",
	"unknown_replace", "duplicate_ref", "bad_order", "bad_symbol", "overfill", "crossed",
	"locked", "grow_table", "grow_slab", "grow_books"}

// String returns the counter's snake_case name.
func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return "reason(?)"
}

// NumReasons is the number of counters (the length of Books.Counters).
const NumReasons = int(reasonCount)

func unknownReason(k tick.Kind) Reason {
	if k == tick.KindCancel {
		return ReasonUnknownCancel
	}
	return ReasonUnknownExecute
}
