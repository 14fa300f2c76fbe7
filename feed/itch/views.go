package itch

import "encoding/binary"

// Zero-copy views of the order messages the hot path reads: each accessor is
// one load from the message in place. No struct is built, so nothing is
// copied; a composite-literal Decode is several times slower because its
// block copy's wide loads stall on the narrow stores just made. A view must
// wrap a message Check accepted (accessors panic on a short slice). Prices
// come in wire units: Price4 converts them exactly.

// View is the header every message starts with.
type View []byte

// Type returns the message type byte.
func (v View) Type() byte { return v[0] }

// Locate returns the stock locate.
func (v View) Locate() uint16 { return binary.BigEndian.Uint16(v[1:3]) }

// Tracking returns the tracking number.
func (v View) Tracking() uint16 { return binary.BigEndian.Uint16(v[3:5]) }

// Timestamp returns ns since midnight.
func (v View) Timestamp() uint64 { return timestamp(v) }

// AddOrderView reads an A or F message.
type AddOrderView struct{ View }

func (v AddOrderView) OrderRef() uint64   { return binary.BigEndian.Uint64(v.View[11:19]) }
func (v AddOrderView) Side() byte         { return v.View[19] }
func (v AddOrderView) Shares() uint32     { return binary.BigEndian.Uint32(v.View[20:24]) }
func (v AddOrderView) Stock() []byte      { return v.View[24:32:32] } // padded, aliasing the message
func (v AddOrderView) PriceUnits() uint32 { return binary.BigEndian.Uint32(v.View[32:36]) }

// ExecutedView reads an E message, and the first 31 bytes of a C.
type ExecutedView struct{ View }

func (v ExecutedView) OrderRef() uint64 { return binary.BigEndian.Uint64(v.View[11:19]) }
func (v ExecutedView) Shares() uint32   { return binary.BigEndian.Uint32(v.View[19:23]) }
func (v ExecutedView) Match() uint64    { return binary.BigEndian.Uint64(v.View[23:31]) }

// ExecutedPriceView reads a C message.
type ExecutedPriceView struct{ ExecutedView }

func (v ExecutedPriceView) Printable() byte    { return v.View[31] }
func (v ExecutedPriceView) PriceUnits() uint32 { return binary.BigEndian.Uint32(v.View[32:36]) }

// CancelView reads an X message (and, for OrderRef, a D message).
type CancelView struct{ View }

func (v CancelView) OrderRef() uint64 { return binary.BigEndian.Uint64(v.View[11:19]) }
func (v CancelView) Shares() uint32   { return binary.BigEndian.Uint32(v.View[19:23]) }

// ReplaceView reads a U message.
type ReplaceView struct{ View }

func (v ReplaceView) OrigRef() uint64    { return binary.BigEndian.Uint64(v.View[11:19]) }
func (v ReplaceView) NewRef() uint64     { return binary.BigEndian.Uint64(v.View[19:27]) }
func (v ReplaceView) Shares() uint32     { return binary.BigEndian.Uint32(v.View[27:31]) }
func (v ReplaceView) PriceUnits() uint32 { return binary.BigEndian.Uint32(v.View[31:35]) }

// TradeView reads a P message.
type TradeView struct{ View }

func (v TradeView) OrderRef() uint64   { return binary.BigEndian.Uint64(v.View[11:19]) }
func (v TradeView) Side() byte         { return v.View[19] }
func (v TradeView) Shares() uint32     { return binary.BigEndian.Uint32(v.View[20:24]) }
func (v TradeView) Stock() []byte      { return v.View[24:32:32] }
func (v TradeView) PriceUnits() uint32 { return binary.BigEndian.Uint32(v.View[32:36]) }
func (v TradeView) Match() uint64      { return binary.BigEndian.Uint64(v.View[36:44]) }

// CrossView reads a Q message.
type CrossView struct{ View }

func (v CrossView) Shares() uint64     { return binary.BigEndian.Uint64(v.View[11:19]) }
func (v CrossView) Stock() []byte      { return v.View[19:27:27] }
func (v CrossView) PriceUnits() uint32 { return binary.BigEndian.Uint32(v.View[27:31]) }
func (v CrossView) Match() uint64      { return binary.BigEndian.Uint64(v.View[31:39]) }
func (v CrossView) CrossType() byte    { return v.View[39] }

// MatchView reads the match number of a B message.
type MatchView struct{ View }

func (v MatchView) Match() uint64 { return binary.BigEndian.Uint64(v.View[11:19]) }
