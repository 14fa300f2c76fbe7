package book

import "github.com/tickd/tickd/tick"

// cross states of a book after a change.
const (
	uncrossed uint8 = iota
	locked          // best bid == best ask
	crossed         // best bid > best ask
)

// Book is the L3 book of one symbol. It is owned by Books; read it only on the
// goroutine that calls Books.Apply.
type Book struct {
	sides     [2]ladder // 0 = bids, 1 = asks
	lastPrice tick.Price
	lastQty   int64
	volume    int64  // printable executions, trades and crosses
	trades    uint64 // prints counted in volume
	broken    uint64 // broken trades
	roundLot  int64
	live      int   // resting orders
	state     byte  // last ITCH trading state ('H', 'P', 'Q', 'T'), 0 if never told
	cross     uint8 // uncrossed, locked or crossed
	known     bool  // created by a directory message or by the first event naming it
}

func (bk *Book) best(side int) (Level, bool) {
	t := bk.sides[side].top()
	if t == nil {
		return Level{}, false
	}
	return Level{Price: priceOf(side, t.key), Shares: t.shares, Orders: int(t.orders)}, true
}

// BestBid returns the best bid level; ok is false when there are no bids.
func (bk *Book) BestBid() (Level, bool) { return bk.best(0) }

// BestAsk returns the best ask level; ok is false when there are no asks.
func (bk *Book) BestAsk() (Level, bool) { return bk.best(1) }

// Mid returns (bid+ask)/2 of the top of book, rounded toward minus infinity to
// a Price unit; ok is false unless both sides have orders.
func (bk *Book) Mid() (tick.Price, bool) {
	b, okb := bk.best(0)
	a, oka := bk.best(1)
	if !okb || !oka {
		return 0, false
	}
	s := b.Price + a.Price
	return s >> 1, true // arithmetic shift: floor division by 2
}

// Spread returns ask - bid of the top of book (zero or negative when locked or
// crossed); ok is false unless both sides have orders.
func (bk *Book) Spread() (tick.Price, bool) {
	b, okb := bk.best(0)
	a, oka := bk.best(1)
	if !okb || !oka {
		return 0, false
	}
	return a.Price - b.Price, true
}

// Imbalance returns (bid - ask) / (bid + ask) over the shares of the best n
// levels of each side (n <= 0 means every level); ok is false when both are 0.
func (bk *Book) Imbalance(n int) (float64, bool) {
	bid, ask := bk.sides[0].topShares(n), bk.sides[1].topShares(n)
	if bid+ask == 0 {
		return 0, false
	}
	return float64(bid-ask) / float64(bid+ask), true
}

// topShares returns the shares of the best n levels (n <= 0: every level).
func (l *ladder) topShares(n int) int64 {
	lv := l.levels
	if n > 0 && n < len(lv) {
		lv = lv[len(lv)-n:]
	}
	var sum int64
	for i := range lv {
		sum += lv[i].shares
	}
	return sum
}

// Depth writes the best len(dst) levels of side, best first, into dst and
// returns how many it wrote. It does not allocate.
func (bk *Book) Depth(side tick.Side, dst []Level) int {
	si, ok := sideIndex(side)
	if !ok {
		return 0
	}
	lv := bk.sides[si].levels
	n := 0
	for i := len(lv) - 1; i >= 0 && n < len(dst); i-- {
		dst[n] = Level{Price: priceOf(si, lv[i].key), Shares: lv[i].shares, Orders: int(lv[i].orders)}
		n++
	}
	return n
}

// Levels returns the number of price levels on side.
func (bk *Book) Levels(side tick.Side) int {
	si, ok := sideIndex(side)
	if !ok {
		return 0
	}
	return len(bk.sides[si].levels)
}

// Orders returns the number of resting orders in the book.
func (bk *Book) Orders() int { return bk.live }

// LastTrade returns the price and quantity of the last printable trade.
func (bk *Book) LastTrade() (tick.Price, int64) { return bk.lastPrice, bk.lastQty }

// Volume returns the shares of all printable trades and executions.
func (bk *Book) Volume() int64 { return bk.volume }

// Trades returns the number of printable trades and executions.
func (bk *Book) Trades() uint64 { return bk.trades }

// BrokenTrades returns how many trades of this symbol were broken.
func (bk *Book) BrokenTrades() uint64 { return bk.broken }

// RoundLot returns the round lot from the directory message (0 if none).
func (bk *Book) RoundLot() int64 { return bk.roundLot }

// TradingState returns the last ITCH trading state byte ('H' halted, 'P'
// paused, 'Q' quotation only, 'T' trading), or 0 if none was received.
func (bk *Book) TradingState() byte { return bk.state }

// Halted reports whether the symbol is halted or paused.
func (bk *Book) Halted() bool { return bk.state == 'H' || bk.state == 'P' }

// Crossed reports whether the best bid is above the best ask.
func (bk *Book) Crossed() bool { return bk.cross == crossed }

// Locked reports whether the best bid equals the best ask.
func (bk *Book) Locked() bool { return bk.cross == locked }

// crossState computes the cross state from the two tops.
func (bk *Book) crossState() uint8 {
	b, a := bk.sides[0].top(), bk.sides[1].top()
	if b == nil || a == nil {
		return uncrossed
	}
	switch bid, ask := b.key, -a.key; {
	case bid > ask:
		return crossed
	case bid == ask:
		return locked
	}
	return uncrossed
}
