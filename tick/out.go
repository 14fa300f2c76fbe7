package tick

// OutKind says which record an Out carries.
type OutKind uint8

// Out kinds.
const (
	OutNone   OutKind = iota
	OutSignal         // Out.Signal is set
	OutBar            // Out.Bar is set
	OutStats          // Out.Stats is set
	OutBBO            // Out.BBO is set
)

// Out is one record the engine hands to the publisher through an output ring.
// Only the member named by Kind is meaningful; the others are stale.
type Out struct {
	Kind   OutKind
	Signal Signal
	Bar    Bar
	Stats  Stats
	BBO    BBO
}

// BBO is a symbol's best bid and offer from its L3 book after a change. An
// empty side has zero Price, Shares and Orders.
type BBO struct {
	Symbol    SymbolID
	BidOrders uint32 // resting orders at the best bid
	AskOrders uint32
	TsEvent   int64 // event time of the change, ns since the Unix epoch
	TsRecv    int64 // receive time of the message that made it
	Bid       Price
	BidShares int64
	Ask       Price
	AskShares int64
}

// Signal is a rule firing: the rule's condition became true on this tick.
type Signal struct {
	TsEvent int64      // event time of the tick that fired it, ns since the Unix epoch
	TsRecv  int64      // receive time of that tick
	Symbol  SymbolID   //
	Rule    uint16     // index of the rule in the engine's rule set
	Dir     int8       // +1: crossed upwards; -1: crossed downwards
	Price   Price      // the tick's price
	Values  [3]float64 // the values that fired it; the rule names them
}

// Bar is an OHLCV bar over [Start, Start+Interval) in event time.
type Bar struct {
	Symbol   SymbolID
	Count    uint32 // trades in the bar
	Interval int64  // ns
	Start    int64  // ns since the Unix epoch, a multiple of Interval
	Open     Price
	High     Price
	Low      Price
	Close    Price
	VWAP     Price // exact: Σ(price×qty) / Σqty, rounded half up to 1e-9
	Volume   int64
	TsRecv   int64 // receive time of the bar's last tick
}

// Stats is a snapshot of one symbol's running statistics, published when its
// shortest bar closes.
type Stats struct {
	Symbol  SymbolID
	TsEvent int64 // event time of the last tick included
	Last    Price
	SMA     float64 // simple moving average over the last N ticks
	EMA     float64 // exponential moving average by half-life
	VWAP    float64 // session VWAP
	Mean    float64 // event-time window mean
	StdDev  float64 // rolling standard deviation over the last N ticks
	ZScore  float64 // (last - SMA) / StdDev, 0 when StdDev is 0
	Min     Price   // session low
	Max     Price   // session high
	Count   int64   // trades seen this session
	Volume  int64   // volume this session
}
