package itch

import "encoding/binary"

// Encoders append one message to dst and return the extended buffer; they
// allocate only when dst lacks room. Prices are written in their wire units,
// truncating any fraction finer than the field carries. They do not validate
// the values they are given: they exist for tests and simulators.

var be = binary.BigEndian

func appendHeader(dst []byte, t byte, h Header) []byte {
	dst = append(dst, t)
	dst = be.AppendUint16(dst, h.Locate)
	dst = be.AppendUint16(dst, h.Tracking)
	dst = be.AppendUint16(dst, uint16(h.Timestamp>>32))
	return be.AppendUint32(dst, uint32(h.Timestamp))
}

// AppendSystemEvent appends an S message.
func AppendSystemEvent(dst []byte, m SystemEvent) []byte {
	return append(appendHeader(dst, TypeSystemEvent, m.Header), m.EventCode)
}

// AppendStockDirectory appends an R message.
func AppendStockDirectory(dst []byte, m StockDirectory) []byte {
	dst = appendHeader(dst, TypeStockDirectory, m.Header)
	dst = append(dst, m.Stock[:]...)
	dst = append(dst, m.MarketCategory, m.FinancialStatusIndicator)
	dst = be.AppendUint32(dst, m.RoundLotSize)
	dst = append(dst, m.RoundLotsOnly, m.IssueClassification, m.IssueSubType[0], m.IssueSubType[1],
		m.Authenticity, m.ShortSaleThresholdIndicator, m.IPOFlag, m.LULDReferencePriceTier, m.ETPFlag)
	dst = be.AppendUint32(dst, m.ETPLeverageFactor)
	return append(dst, m.InverseIndicator)
}

// AppendStockTradingAction appends an H message.
func AppendStockTradingAction(dst []byte, m StockTradingAction) []byte {
	dst = appendHeader(dst, TypeStockTradingAction, m.Header)
	dst = append(dst, m.Stock[:]...)
	dst = append(dst, m.TradingState, m.Reserved)
	return append(dst, m.Reason[:]...)
}

// AppendRegSHORestriction appends a Y message.
func AppendRegSHORestriction(dst []byte, m RegSHORestriction) []byte {
	dst = appendHeader(dst, TypeRegSHORestriction, m.Header)
	dst = append(dst, m.Stock[:]...)
	return append(dst, m.RegSHOAction)
}

// AppendMarketParticipantPosition appends an L message.
func AppendMarketParticipantPosition(dst []byte, m MarketParticipantPosition) []byte {
	dst = appendHeader(dst, TypeMarketParticipant, m.Header)
	dst = append(dst, m.MPID[:]...)
	dst = append(dst, m.Stock[:]...)
	return append(dst, m.PrimaryMarketMaker, m.MarketMakerMode, m.MarketParticipantState)
}

// AppendMWCBDeclineLevel appends a V message.
func AppendMWCBDeclineLevel(dst []byte, m MWCBDeclineLevel) []byte {
	dst = appendHeader(dst, TypeMWCBDeclineLevel, m.Header)
	dst = be.AppendUint64(dst, units8(m.Level1))
	dst = be.AppendUint64(dst, units8(m.Level2))
	return be.AppendUint64(dst, units8(m.Level3))
}

// AppendMWCBStatus appends a W message.
func AppendMWCBStatus(dst []byte, m MWCBStatus) []byte {
	return append(appendHeader(dst, TypeMWCBStatus, m.Header), m.BreachedLevel)
}

// AppendIPOQuotingPeriod appends a K message.
func AppendIPOQuotingPeriod(dst []byte, m IPOQuotingPeriod) []byte {
	dst = appendHeader(dst, TypeIPOQuotingPeriod, m.Header)
	dst = append(dst, m.Stock[:]...)
	dst = be.AppendUint32(dst, m.ReleaseTime)
	dst = append(dst, m.ReleaseQualifier)
	return be.AppendUint32(dst, units4(m.IPOPrice))
}

// AppendLULDAuctionCollar appends a J message.
func AppendLULDAuctionCollar(dst []byte, m LULDAuctionCollar) []byte {
	dst = appendHeader(dst, TypeLULDAuctionCollar, m.Header)
	dst = append(dst, m.Stock[:]...)
	dst = be.AppendUint32(dst, units4(m.ReferencePrice))
	dst = be.AppendUint32(dst, units4(m.UpperPrice))
	dst = be.AppendUint32(dst, units4(m.LowerPrice))
	return be.AppendUint32(dst, m.Extension)
}

// AppendOperationalHalt appends an h message.
func AppendOperationalHalt(dst []byte, m OperationalHalt) []byte {
	dst = appendHeader(dst, TypeOperationalHalt, m.Header)
	dst = append(dst, m.Stock[:]...)
	return append(dst, m.MarketCode, m.Action)
}

func appendAddBody(dst []byte, m *AddOrder) []byte {
	dst = be.AppendUint64(dst, m.OrderRef)
	dst = append(dst, m.Side)
	dst = be.AppendUint32(dst, m.Shares)
	dst = append(dst, m.Stock[:]...)
	return be.AppendUint32(dst, units4(m.Price))
}

// AppendAddOrder appends an A message.
func AppendAddOrder(dst []byte, m AddOrder) []byte {
	return appendAddBody(appendHeader(dst, TypeAddOrder, m.Header), &m)
}

// AppendAddOrderMPID appends an F message.
func AppendAddOrderMPID(dst []byte, m AddOrderMPID) []byte {
	dst = appendAddBody(appendHeader(dst, TypeAddOrderMPID, m.Header), &m.AddOrder)
	return append(dst, m.Attribution[:]...)
}

func appendExecBody(dst []byte, m *OrderExecuted) []byte {
	dst = be.AppendUint64(dst, m.OrderRef)
	dst = be.AppendUint32(dst, m.Shares)
	return be.AppendUint64(dst, m.Match)
}

// AppendOrderExecuted appends an E message.
func AppendOrderExecuted(dst []byte, m OrderExecuted) []byte {
	return appendExecBody(appendHeader(dst, TypeOrderExecuted, m.Header), &m)
}

// AppendOrderExecutedPrice appends a C message.
func AppendOrderExecutedPrice(dst []byte, m OrderExecutedPrice) []byte {
	dst = appendExecBody(appendHeader(dst, TypeOrderExecutedPrice, m.Header), &m.OrderExecuted)
	dst = append(dst, m.Printable)
	return be.AppendUint32(dst, units4(m.Price))
}

// AppendOrderCancel appends an X message.
func AppendOrderCancel(dst []byte, m OrderCancel) []byte {
	dst = appendHeader(dst, TypeOrderCancel, m.Header)
	dst = be.AppendUint64(dst, m.OrderRef)
	return be.AppendUint32(dst, m.Shares)
}

// AppendOrderDelete appends a D message.
func AppendOrderDelete(dst []byte, m OrderDelete) []byte {
	return be.AppendUint64(appendHeader(dst, TypeOrderDelete, m.Header), m.OrderRef)
}

// AppendOrderReplace appends a U message.
func AppendOrderReplace(dst []byte, m OrderReplace) []byte {
	dst = appendHeader(dst, TypeOrderReplace, m.Header)
	dst = be.AppendUint64(dst, m.OrigRef)
	dst = be.AppendUint64(dst, m.NewRef)
	dst = be.AppendUint32(dst, m.Shares)
	return be.AppendUint32(dst, units4(m.Price))
}

// AppendTrade appends a P message.
func AppendTrade(dst []byte, m Trade) []byte {
	dst = appendHeader(dst, TypeTrade, m.Header)
	dst = be.AppendUint64(dst, m.OrderRef)
	dst = append(dst, m.Side)
	dst = be.AppendUint32(dst, m.Shares)
	dst = append(dst, m.Stock[:]...)
	dst = be.AppendUint32(dst, units4(m.Price))
	return be.AppendUint64(dst, m.Match)
}

// AppendCrossTrade appends a Q message.
func AppendCrossTrade(dst []byte, m CrossTrade) []byte {
	dst = appendHeader(dst, TypeCrossTrade, m.Header)
	dst = be.AppendUint64(dst, m.Shares)
	dst = append(dst, m.Stock[:]...)
	dst = be.AppendUint32(dst, units4(m.Price))
	dst = be.AppendUint64(dst, m.Match)
	return append(dst, m.CrossType)
}

// AppendBrokenTrade appends a B message.
func AppendBrokenTrade(dst []byte, m BrokenTrade) []byte {
	return be.AppendUint64(appendHeader(dst, TypeBrokenTrade, m.Header), m.Match)
}

// AppendNOII appends an I message.
func AppendNOII(dst []byte, m NOII) []byte {
	dst = appendHeader(dst, TypeNOII, m.Header)
	dst = be.AppendUint64(dst, m.PairedShares)
	dst = be.AppendUint64(dst, m.ImbalanceShares)
	dst = append(dst, m.ImbalanceDirection)
	dst = append(dst, m.Stock[:]...)
	dst = be.AppendUint32(dst, units4(m.FarPrice))
	dst = be.AppendUint32(dst, units4(m.NearPrice))
	dst = be.AppendUint32(dst, units4(m.CurrentReferencePrice))
	return append(dst, m.CrossType, m.PriceVariationIndicator)
}

// AppendRetailPriceImprovement appends an N message.
func AppendRetailPriceImprovement(dst []byte, m RetailPriceImprovement) []byte {
	dst = appendHeader(dst, TypeRetailPriceImprove, m.Header)
	dst = append(dst, m.Stock[:]...)
	return append(dst, m.InterestFlag)
}

// AppendDirectListing appends an O message.
func AppendDirectListing(dst []byte, m DirectListing) []byte {
	dst = appendHeader(dst, TypeDirectListingCapital, m.Header)
	dst = append(dst, m.Stock[:]...)
	dst = append(dst, m.OpenEligibilityStatus)
	dst = be.AppendUint32(dst, units4(m.MinimumAllowablePrice))
	dst = be.AppendUint32(dst, units4(m.MaximumAllowablePrice))
	dst = be.AppendUint32(dst, units4(m.NearExecutionPrice))
	dst = be.AppendUint64(dst, m.NearExecutionTime)
	dst = be.AppendUint32(dst, units4(m.LowerPriceRangeCollar))
	return be.AppendUint32(dst, units4(m.UpperPriceRangeCollar))
}

// AppendFramed appends msg to dst with the daily-file 2-byte length prefix.
func AppendFramed(dst, msg []byte) []byte {
	dst = be.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...)
}
