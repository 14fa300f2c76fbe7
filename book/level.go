package book

import "github.com/tickd/tickd/tick"

// order is one resting order in the slab: 32 bytes, two per cache line, every
// field the hot path touches.
type order struct {
	ref     uint64     // 8: order reference (key in the table)
	price   tick.Price // 8: limit price
	qty     uint32     // 4: remaining shares (ITCH shares are 32-bit)
	prev    uint32     // 4: previous order in the level's FIFO (0 = none)
	next    uint32     // 4: next order in the FIFO, or next free slab entry
	symSide uint32     // 4: symbol<<1 | side bit (1 = sell); symbols < 2^31
}

func (o *order) sym() tick.SymbolID { return tick.SymbolID(o.symSide >> 1) }
func (o *order) sideIdx() int       { return int(o.symSide & 1) }

// level is one price level: 32 bytes. key is the price for bids and minus the
// price for asks, so both sides sort ascending by key with the best level last.
type level struct {
	key    int64  // 8
	shares int64  // 8: total remaining shares of the level's orders
	orders uint32 // 4: number of orders
	head   uint32 // 4: oldest order (first to fill)
	tail   uint32 // 4: newest order
}

// Level is one aggregated price level as the queries report it.
type Level struct {
	Price  tick.Price
	Shares int64
	Orders int
}

// ladder is one side of a book: levels sorted ascending by key, best last.
type ladder struct {
	levels []level
}

// search returns the index of key, or where it would be inserted, and whether
// it is present. The best level (last) is checked first: most activity is there.
func (l *ladder) search(key int64) (int, bool) {
	lv := l.levels
	n := len(lv)
	if n == 0 {
		return 0, false
	}
	if last := lv[n-1].key; key >= last {
		if key == last {
			return n - 1, true
		}
		return n, false
	}
	lo, hi := 0, n-1 // answer in [lo, hi]; lv[hi].key > key
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if lv[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lv[lo].key == key
}

// levelFor returns the level for key, inserting an empty one if needed,
// and its rank.
func (l *ladder) levelFor(key int64) (*level, int) {
	i, ok := l.search(key)
	if !ok {
		l.levels = append(l.levels, level{}) // allocates only past the capacity reached so far
		copy(l.levels[i+1:], l.levels[i:])
		l.levels[i] = level{key: key}
	}
	return &l.levels[i], l.rank(i)
}

// rank returns how many levels are better than the one at i: 0 for the best.
func (l *ladder) rank(i int) int { return len(l.levels) - 1 - i }

// remove deletes the level at i.
func (l *ladder) remove(i int) {
	copy(l.levels[i:], l.levels[i+1:])
	l.levels = l.levels[:len(l.levels)-1]
}

// top returns the best level, or nil.
func (l *ladder) top() *level {
	if n := len(l.levels); n > 0 {
		return &l.levels[n-1]
	}
	return nil
}

func keyOf(side int, p tick.Price) int64 {
	if side == 1 {
		return -int64(p)
	}
	return int64(p)
}

func priceOf(side int, key int64) tick.Price {
	if side == 1 {
		return tick.Price(-key)
	}
	return tick.Price(key)
}

// sideIndex maps a tick.Side to 0 (bid) or 1 (ask); ok is false for SideNone.
func sideIndex(s tick.Side) (int, bool) {
	switch s {
	case tick.SideBuy:
		return 0, true
	case tick.SideSell:
		return 1, true
	}
	return 0, false
}
