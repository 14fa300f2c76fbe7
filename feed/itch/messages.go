package itch

import (
	"encoding/binary"

	"github.com/tickd/tickd/tick"
)

// The message structs below hold one decoded message each; byte-valued
// fields keep the wire byte (B/S, Y/N, event codes) so that encoding a
// decoded message gives back the same bytes. Each DecodeX reads a message
// whose type and length Check has validated; none allocates or writes into
// its input.

// SystemEvent is an S message.
type SystemEvent struct {
	Header
	EventCode byte // O S Q M E C
}

// DecodeSystemEvent decodes an S message.
func DecodeSystemEvent(b []byte) SystemEvent {
	_ = b[11]
	return SystemEvent{Header: DecodeHeader(b), EventCode: b[11]}
}

// StockDirectory is an R message: it announces the stock for a locate.
type StockDirectory struct {
	Header
	Stock                       Stock
	MarketCategory              byte
	FinancialStatusIndicator    byte
	RoundLotSize                uint32
	RoundLotsOnly               byte
	IssueClassification         byte
	IssueSubType                [2]byte
	Authenticity                byte
	ShortSaleThresholdIndicator byte
	IPOFlag                     byte
	LULDReferencePriceTier      byte
	ETPFlag                     byte
	ETPLeverageFactor           uint32
	InverseIndicator            byte
}

// DecodeStockDirectory decodes an R message.
func DecodeStockDirectory(b []byte) StockDirectory {
	_ = b[38]
	return StockDirectory{
		Header:                      DecodeHeader(b),
		Stock:                       Stock(b[11:19]),
		MarketCategory:              b[19],
		FinancialStatusIndicator:    b[20],
		RoundLotSize:                binary.BigEndian.Uint32(b[21:]),
		RoundLotsOnly:               b[25],
		IssueClassification:         b[26],
		IssueSubType:                [2]byte(b[27:29]),
		Authenticity:                b[29],
		ShortSaleThresholdIndicator: b[30],
		IPOFlag:                     b[31],
		LULDReferencePriceTier:      b[32],
		ETPFlag:                     b[33],
		ETPLeverageFactor:           binary.BigEndian.Uint32(b[34:]),
		InverseIndicator:            b[38],
	}
}

// StockTradingAction is an H message.
type StockTradingAction struct {
	Header
	Stock        Stock
	TradingState byte // H halted, P paused, Q quotation only, T trading
	Reserved     byte
	Reason       [4]byte
}

// DecodeStockTradingAction decodes an H message.
func DecodeStockTradingAction(b []byte) StockTradingAction {
	_ = b[24]
	return StockTradingAction{Header: DecodeHeader(b), Stock: Stock(b[11:19]),
		TradingState: b[19], Reserved: b[20], Reason: [4]byte(b[21:25])}
}

// RegSHORestriction is a Y message.
type RegSHORestriction struct {
	Header
	Stock        Stock
	RegSHOAction byte
}

// DecodeRegSHORestriction decodes a Y message.
func DecodeRegSHORestriction(b []byte) RegSHORestriction {
	_ = b[19]
	return RegSHORestriction{Header: DecodeHeader(b), Stock: Stock(b[11:19]), RegSHOAction: b[19]}
}

// MarketParticipantPosition is an L message.
type MarketParticipantPosition struct {
	Header
	MPID                   [4]byte
	Stock                  Stock
	PrimaryMarketMaker     byte
	MarketMakerMode        byte
	MarketParticipantState byte
}

// DecodeMarketParticipantPosition decodes an L message.
func DecodeMarketParticipantPosition(b []byte) MarketParticipantPosition {
	_ = b[25]
	return MarketParticipantPosition{Header: DecodeHeader(b), MPID: [4]byte(b[11:15]), Stock: Stock(b[15:23]),
		PrimaryMarketMaker: b[23], MarketMakerMode: b[24], MarketParticipantState: b[25]}
}

// MWCBDeclineLevel is a V message; its levels are Price(8).
type MWCBDeclineLevel struct {
	Header
	Level1, Level2, Level3 tick.Price
}

// DecodeMWCBDeclineLevel decodes a V message; it fails with ReasonPriceRange
// when a level does not fit a tick.Price.
func DecodeMWCBDeclineLevel(b []byte) (MWCBDeclineLevel, error) {
	_ = b[34]
	l1, ok1 := Price8(binary.BigEndian.Uint64(b[11:]))
	l2, ok2 := Price8(binary.BigEndian.Uint64(b[19:]))
	l3, ok3 := Price8(binary.BigEndian.Uint64(b[27:]))
	if !ok1 || !ok2 || !ok3 {
		return MWCBDeclineLevel{}, ReasonPriceRange
	}
	return MWCBDeclineLevel{Header: DecodeHeader(b), Level1: l1, Level2: l2, Level3: l3}, nil
}

// MWCBStatus is a W message.
type MWCBStatus struct {
	Header
	BreachedLevel byte
}

// DecodeMWCBStatus decodes a W message.
func DecodeMWCBStatus(b []byte) MWCBStatus {
	_ = b[11]
	return MWCBStatus{Header: DecodeHeader(b), BreachedLevel: b[11]}
}

// IPOQuotingPeriod is a K message.
type IPOQuotingPeriod struct {
	Header
	Stock            Stock
	ReleaseTime      uint32 // seconds since midnight
	ReleaseQualifier byte
	IPOPrice         tick.Price
}

// DecodeIPOQuotingPeriod decodes a K message.
func DecodeIPOQuotingPeriod(b []byte) IPOQuotingPeriod {
	_ = b[27]
	return IPOQuotingPeriod{Header: DecodeHeader(b), Stock: Stock(b[11:19]),
		ReleaseTime: binary.BigEndian.Uint32(b[19:]), ReleaseQualifier: b[23],
		IPOPrice: Price4(binary.BigEndian.Uint32(b[24:]))}
}

// LULDAuctionCollar is a J message.
type LULDAuctionCollar struct {
	Header
	Stock                                  Stock
	ReferencePrice, UpperPrice, LowerPrice tick.Price
	Extension                              uint32
}

// DecodeLULDAuctionCollar decodes a J message.
func DecodeLULDAuctionCollar(b []byte) LULDAuctionCollar {
	_ = b[34]
	return LULDAuctionCollar{Header: DecodeHeader(b), Stock: Stock(b[11:19]),
		ReferencePrice: Price4(binary.BigEndian.Uint32(b[19:])),
		UpperPrice:     Price4(binary.BigEndian.Uint32(b[23:])),
		LowerPrice:     Price4(binary.BigEndian.Uint32(b[27:])),
		Extension:      binary.BigEndian.Uint32(b[31:])}
}

// OperationalHalt is an h message.
type OperationalHalt struct {
	Header
	Stock      Stock
	MarketCode byte
	Action     byte
}

// DecodeOperationalHalt decodes an h message.
func DecodeOperationalHalt(b []byte) OperationalHalt {
	_ = b[20]
	return OperationalHalt{Header: DecodeHeader(b), Stock: Stock(b[11:19]), MarketCode: b[19], Action: b[20]}
}

// AddOrder is an A message, or an F message when Attribution is set
// (AddOrderMPID decodes both).
type AddOrder struct {
	Header
	OrderRef uint64
	Side     byte // B or S
	Shares   uint32
	Stock    Stock
	Price    tick.Price
}

// DecodeAddOrder decodes an A message (or the first 36 bytes of an F).
func DecodeAddOrder(b []byte) AddOrder {
	_ = b[35]
	return AddOrder{
		Header:   Header{Locate: binary.BigEndian.Uint16(b[1:]), Tracking: binary.BigEndian.Uint16(b[3:]), Timestamp: timestamp(b)},
		OrderRef: binary.BigEndian.Uint64(b[11:]),
		Side:     b[19],
		Shares:   binary.BigEndian.Uint32(b[20:]),
		Stock:    Stock(b[24:32]),
		Price:    Price4(binary.BigEndian.Uint32(b[32:])),
	}
}

// AddOrderMPID is an F message.
type AddOrderMPID struct {
	AddOrder
	Attribution [4]byte
}

// DecodeAddOrderMPID decodes an F message.
func DecodeAddOrderMPID(b []byte) AddOrderMPID {
	_ = b[39]
	return AddOrderMPID{AddOrder: DecodeAddOrder(b), Attribution: [4]byte(b[36:40])}
}

// OrderExecuted is an E message: executed at the resting order's price.
type OrderExecuted struct {
	Header
	OrderRef uint64
	Shares   uint32
	Match    uint64
}

// DecodeOrderExecuted decodes an E message.
func DecodeOrderExecuted(b []byte) OrderExecuted {
	_ = b[30]
	return OrderExecuted{Header: DecodeHeader(b), OrderRef: binary.BigEndian.Uint64(b[11:]),
		Shares: binary.BigEndian.Uint32(b[19:]), Match: binary.BigEndian.Uint64(b[23:])}
}

// OrderExecutedPrice is a C message.
type OrderExecutedPrice struct {
	OrderExecuted
	Printable byte // Y or N
	Price     tick.Price
}

// DecodeOrderExecutedPrice decodes a C message.
func DecodeOrderExecutedPrice(b []byte) OrderExecutedPrice {
	_ = b[35]
	return OrderExecutedPrice{OrderExecuted: OrderExecuted{Header: Header{Locate: binary.BigEndian.Uint16(b[1:]), Tracking: binary.BigEndian.Uint16(b[3:]), Timestamp: timestamp(b)}, OrderRef: binary.BigEndian.Uint64(b[11:]),
		Shares: binary.BigEndian.Uint32(b[19:]), Match: binary.BigEndian.Uint64(b[23:])}, Printable: b[31],
		Price: Price4(binary.BigEndian.Uint32(b[32:]))}
}

// OrderCancel is an X message: a partial cancel.
type OrderCancel struct {
	Header
	OrderRef uint64
	Shares   uint32
}

// DecodeOrderCancel decodes an X message.
func DecodeOrderCancel(b []byte) OrderCancel {
	_ = b[22]
	return OrderCancel{Header: DecodeHeader(b), OrderRef: binary.BigEndian.Uint64(b[11:]),
		Shares: binary.BigEndian.Uint32(b[19:])}
}

// OrderDelete is a D message.
type OrderDelete struct {
	Header
	OrderRef uint64
}

// DecodeOrderDelete decodes a D message.
func DecodeOrderDelete(b []byte) OrderDelete {
	_ = b[18]
	return OrderDelete{Header: DecodeHeader(b), OrderRef: binary.BigEndian.Uint64(b[11:])}
}

// OrderReplace is a U message; the new order keeps the original's side and stock.
type OrderReplace struct {
	Header
	OrigRef, NewRef uint64
	Shares          uint32
	Price           tick.Price
}

// DecodeOrderReplace decodes a U message.
func DecodeOrderReplace(b []byte) OrderReplace {
	_ = b[34]
	return OrderReplace{Header: DecodeHeader(b), OrigRef: binary.BigEndian.Uint64(b[11:]),
		NewRef: binary.BigEndian.Uint64(b[19:]), Shares: binary.BigEndian.Uint32(b[27:]),
		Price: Price4(binary.BigEndian.Uint32(b[31:]))}
}

// Trade is a P message: a match against a non-displayed order.
type Trade struct {
	Header
	OrderRef uint64 // zero in practice
	Side     byte
	Shares   uint32
	Stock    Stock
	Price    tick.Price
	Match    uint64
}

// DecodeTrade decodes a P message.
func DecodeTrade(b []byte) Trade {
	_ = b[43]
	return Trade{Header: Header{Locate: binary.BigEndian.Uint16(b[1:]), Tracking: binary.BigEndian.Uint16(b[3:]), Timestamp: timestamp(b)}, OrderRef: binary.BigEndian.Uint64(b[11:]), Side: b[19],
		Shares: binary.BigEndian.Uint32(b[20:]), Stock: Stock(b[24:32]),
		Price: Price4(binary.BigEndian.Uint32(b[32:])), Match: binary.BigEndian.Uint64(b[36:])}
}

// CrossTrade is a Q message.
type CrossTrade struct {
	Header
	Shares    uint64
	Stock     Stock
	Price     tick.Price
	Match     uint64
	CrossType byte
}

// DecodeCrossTrade decodes a Q message.
func DecodeCrossTrade(b []byte) CrossTrade {
	_ = b[39]
	return CrossTrade{Header: DecodeHeader(b), Shares: binary.BigEndian.Uint64(b[11:]), Stock: Stock(b[19:27]),
		Price: Price4(binary.BigEndian.Uint32(b[27:])), Match: binary.BigEndian.Uint64(b[31:]), CrossType: b[39]}
}

// BrokenTrade is a B message.
type BrokenTrade struct {
	Header
	Match uint64
}

// DecodeBrokenTrade decodes a B message.
func DecodeBrokenTrade(b []byte) BrokenTrade {
	_ = b[18]
	return BrokenTrade{Header: DecodeHeader(b), Match: binary.BigEndian.Uint64(b[11:])}
}

// NOII is an I message (net order imbalance indicator).
type NOII struct {
	Header
	PairedShares, ImbalanceShares              uint64
	ImbalanceDirection                         byte
	Stock                                      Stock
	FarPrice, NearPrice, CurrentReferencePrice tick.Price
	CrossType                                  byte
	PriceVariationIndicator                    byte
}

// DecodeNOII decodes an I message.
func DecodeNOII(b []byte) NOII {
	_ = b[49]
	return NOII{Header: DecodeHeader(b), PairedShares: binary.BigEndian.Uint64(b[11:]),
		ImbalanceShares: binary.BigEndian.Uint64(b[19:]), ImbalanceDirection: b[27], Stock: Stock(b[28:36]),
		FarPrice: Price4(binary.BigEndian.Uint32(b[36:])), NearPrice: Price4(binary.BigEndian.Uint32(b[40:])),
		CurrentReferencePrice: Price4(binary.BigEndian.Uint32(b[44:])), CrossType: b[48], PriceVariationIndicator: b[49]}
}

// RetailPriceImprovement is an N message.
type RetailPriceImprovement struct {
	Header
	Stock        Stock
	InterestFlag byte
}

// DecodeRetailPriceImprovement decodes an N message.
func DecodeRetailPriceImprovement(b []byte) RetailPriceImprovement {
	_ = b[19]
	return RetailPriceImprovement{Header: DecodeHeader(b), Stock: Stock(b[11:19]), InterestFlag: b[19]}
}

// DirectListing is an O message (direct listing with capital raise price discovery).
type DirectListing struct {
	Header
	Stock                 Stock
	OpenEligibilityStatus byte
	MinimumAllowablePrice tick.Price
	MaximumAllowablePrice tick.Price
	NearExecutionPrice    tick.Price
	NearExecutionTime     uint64
	LowerPriceRangeCollar tick.Price
	UpperPriceRangeCollar tick.Price
}

// DecodeDirectListing decodes an O message.
func DecodeDirectListing(b []byte) DirectListing {
	_ = b[47]
	return DirectListing{Header: DecodeHeader(b), Stock: Stock(b[11:19]), OpenEligibilityStatus: b[19],
		MinimumAllowablePrice: Price4(binary.BigEndian.Uint32(b[20:])),
		MaximumAllowablePrice: Price4(binary.BigEndian.Uint32(b[24:])),
		NearExecutionPrice:    Price4(binary.BigEndian.Uint32(b[28:])),
		NearExecutionTime:     binary.BigEndian.Uint64(b[32:]),
		LowerPriceRangeCollar: Price4(binary.BigEndian.Uint32(b[40:])),
		UpperPriceRangeCollar: Price4(binary.BigEndian.Uint32(b[44:]))}
}
