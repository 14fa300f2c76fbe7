// Package itchsim simulates one NASDAQ TotalView-ITCH 5.0 exchange session:
// a seeded, deterministic stream of system events, stock directory, trading
// actions and L3 order flow (adds, cancels, deletes, replaces, executions,
// non-displayed trades, crosses, breaks and halts) for a set of symbols.
//
// The generator keeps its own model of every live order and of each
// symbol's price levels, so the stream is consistent: every E C X D U names
// a live order with enough shares, and an L3 book built from it sees no
// unknown reference and no negative quantity. Prices follow a per-symbol
// fair value that random-walks geometrically; aggressive flow shows up as
// executions against the resting top of book, so the book stays uncrossed.
// Cancels, deletes and replaces mostly hit recently added orders, giving an
// order table the locality of a real feed. With the same Config the stream
// is identical byte for byte.
package itchsim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/sim"
	"github.com/tickd/tickd/tick"
)

// Config sets up a Generator. The zero value of each field means its default.
type Config struct {
	Symbols    []string      // names; default: Count generated names (sim.GenerateNames)
	Count      int           // how many generated names when Symbols is empty; default 32
	Seed       uint64        // PRNG seed; default 1
	Rate       float64       // mean messages per second of event time; default 10000
	LiveOrders int           // resting orders kept live at peak, all symbols; default 200*len(Symbols)
	Start      time.Duration // first timestamp, ns since midnight; default 9h30m
	Messages   int64         // order-flow messages before the closing events; 0 = unlimited
}

func (c *Config) withDefaults() error {
	if len(c.Symbols) == 0 {
		if c.Count == 0 {
			c.Count = 32
		}
		if c.Count < 0 || c.Count > 26*26*26 {
			return fmt.Errorf("itchsim: symbol count %d not in 1..%d", c.Count, 26*26*26)
		}
		c.Symbols = sim.GenerateNames(c.Count)
	}
	if len(c.Symbols) > math.MaxUint16 {
		return fmt.Errorf("itchsim: %d symbols, at most %d locates", len(c.Symbols), math.MaxUint16)
	}
	for _, s := range c.Symbols {
		if len(s) == 0 || len(s) > 8 {
			return fmt.Errorf("itchsim: symbol %q must be 1..8 bytes", s)
		}
		if err := tick.ValidSymbol(s); err != nil {
			return fmt.Errorf("itchsim: symbol %q: %w", s, err)
		}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Rate == 0 {
		c.Rate = 10000
	}
	if c.LiveOrders == 0 {
		c.LiveOrders = 200 * len(c.Symbols)
	}
	if c.Start == 0 {
		c.Start = 9*time.Hour + 30*time.Minute
	}
	switch {
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return errors.New("itchsim: rate must be a positive number")
	case c.LiveOrders < 1 || c.LiveOrders > 1<<28:
		return fmt.Errorf("itchsim: LiveOrders %d not in 1..2^28", c.LiveOrders)
	case c.Start < 0 || c.Start >= 24*time.Hour:
		return fmt.Errorf("itchsim: Start %v not within the day", c.Start)
	case c.Messages < 0:
		return errors.New("itchsim: Messages is negative")
	}
	return nil
}

// Stats are a Generator's running totals.
type Stats struct {
	Messages      int64      // messages returned by Next, all types
	ByType        [256]int64 // by message type byte
	Live          int        // live orders now
	PeakLive      int        // most live orders at once
	TradeThroughs int64      // P trades priced through the touch
	Halts         int64      // H 'H' messages
	Crossed       int64      // adds the model had to place crossing (should stay 0)
}

// tickUnits is one cent in ITCH Price(4) units.
const tickUnits = 100

// order is one live order of the model; shares == 0 marks a free slot.
type order struct {
	ref        uint64
	price      uint32 // in ticks (cents)
	shares     uint32
	prev, next int32 // FIFO list of the order's price level; -1 ends
	sym        uint16
	side       uint8 // 0 buy, 1 sell
}

// level is one price of one side of one symbol in the circular level window.
type level struct {
	price      uint32 // in ticks; meaningful while count > 0
	count      int32
	head, tail int32
}

// symbol is one stock's state.
type symbol struct {
	stock  itch.Stock
	fair   float64   // fair value in ticks; random-walks
	best   [2]uint32 // best bid, best ask in ticks; 0 = side empty
	levels [2][]level
	halted bool
}

// recent is a ring entry of recently added orders.
type recent struct {
	slot int32
	ref  uint64
}

// Session phases.
const (
	phaseOpen = iota // S O, S S, R..., H T..., S Q
	phaseFlow
	phaseClose // S M, S E, S C
	phaseDone
)

// Generator produces one session. It is not safe for concurrent use.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	syms  []symbol
	win   uint32 // level window size (power of two)
	ts    int64
	gapNs float64

	orders []order
	free   []int32
	hw     int32 // slots ever used
	live   int
	ring   []recent
	rpos   uint64

	nextRef   uint64
	nextMatch uint64
	matchLoc  [16]uint16 // locate of recent matches, by match % 16, for B

	phase, step int
	flow        int64
	ended       bool

	haltSym   int
	haltUntil int64

	st Stats
}

// New validates cfg and returns a Generator positioned before the session's
// first message. It preallocates the live-order store.
func New(cfg Config) (*Generator, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:       cfg,
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		ts:        int64(cfg.Start),
		gapNs:     1e9 / cfg.Rate,
		nextRef:   1,
		nextMatch: 1,
		haltSym:   -1,
	}
	g.win = 2048
	if len(cfg.Symbols) > 256 {
		g.win = 256
	}
	capOrders := cfg.LiveOrders + cfg.LiveOrders/8 + 1024
	g.orders = make([]order, capOrders)
	g.free = make([]int32, 0, capOrders)
	g.ring = make([]recent, min(4096, cfg.LiveOrders))
	g.syms = make([]symbol, len(cfg.Symbols))
	for i, name := range cfg.Symbols {
		s := &g.syms[i]
		s.stock = itch.MakeStock(name)
		// Starting prices between $5 and $500, log-uniform.
		s.fair = math.Round(500 * math.Exp(g.rng.Float64()*math.Log(100)))
		for side := range s.levels {
			s.levels[side] = make([]level, g.win)
		}
	}
	return g, nil
}

// Timestamp returns the timestamp (ns since midnight) of the message Next
// returned last.
func (g *Generator) Timestamp() int64 { return g.ts }

// Stats returns the running totals.
func (g *Generator) Stats() Stats {
	s := g.st
	s.Live = g.live
	return s
}

// End asks for the session to close: the next calls to Next return the
// closing system events (S M, S E, S C) and then ok=false.
func (g *Generator) End() { g.ended = true }

// Next appends the next message (unframed) to dst; ok is false, with dst
// unchanged, once the session's last message (S 'C') has been returned.
func (g *Generator) Next(dst []byte) (out []byte, ok bool) {
	n := len(dst)
	switch g.phase {
	case phaseOpen:
		dst = g.opening(dst)
	case phaseFlow:
		if g.ended || (g.cfg.Messages > 0 && g.flow >= g.cfg.Messages) {
			g.phase, g.step = phaseClose, 0
			return g.Next(dst)
		}
		g.ts += int64(g.rng.ExpFloat64() * g.gapNs)
		dst = g.flowMessage(dst)
		g.flow++
	case phaseClose:
		codes := [...]byte{'M', 'E', 'C'}
		g.ts += int64(time.Millisecond)
		dst = itch.AppendSystemEvent(dst, itch.SystemEvent{Header: g.hdr(0), EventCode: codes[g.step]})
		if g.step++; g.step == len(codes) {
			g.phase = phaseDone
		}
	default:
		return dst, false
	}
	g.st.Messages++
	g.st.ByType[dst[n]]++
	return dst, true
}

func (g *Generator) hdr(locate uint16) itch.Header {
	return itch.Header{Locate: locate, Timestamp: uint64(g.ts)}
}

// opening returns the step'th message of the session's opening sequence.
func (g *Generator) opening(dst []byte) []byte {
	ns := len(g.syms)
	i := g.step
	g.step++
	switch {
	case i == 0:
		return itch.AppendSystemEvent(dst, itch.SystemEvent{Header: g.hdr(0), EventCode: 'O'})
	case i == 1:
		return itch.AppendSystemEvent(dst, itch.SystemEvent{Header: g.hdr(0), EventCode: 'S'})
	case i < 2+ns:
		k := i - 2
		return itch.AppendStockDirectory(dst, itch.StockDirectory{
			Header: g.hdr(uint16(k + 1)), Stock: g.syms[k].stock,
			MarketCategory: 'Q', FinancialStatusIndicator: 'N', RoundLotSize: 100, RoundLotsOnly: 'N',
			IssueClassification: 'C', IssueSubType: [2]byte{'Z', ' '}, Authenticity: 'P',
			ShortSaleThresholdIndicator: 'N', IPOFlag: 'N', LULDReferencePriceTier: '1', ETPFlag: 'N',
			ETPLeverageFactor: 0, InverseIndicator: 'N'})
	case i < 2+2*ns:
		k := i - 2 - ns
		return g.tradingAction(dst, k, 'T')
	default:
		g.phase, g.step = phaseFlow, 0
		return itch.AppendSystemEvent(dst, itch.SystemEvent{Header: g.hdr(0), EventCode: 'Q'})
	}
}

func (g *Generator) tradingAction(dst []byte, k int, state byte) []byte {
	reason := [4]byte{' ', ' ', ' ', ' '}
	if state == 'H' {
		reason = [4]byte{'L', 'U', 'D', 'P'}
	}
	return itch.AppendStockTradingAction(dst, itch.StockTradingAction{Header: g.hdr(uint16(k + 1)),
		Stock: g.syms[k].stock, TradingState: state, Reserved: ' ', Reason: reason})
}

// fairStep is the fair value's geometric step down or up.
var fairStep = [2]float64{1 / 1.00005, 1.00005}

// flowMessage appends one order-flow message.
func (g *Generator) flowMessage(dst []byte) []byte {
	if g.haltSym >= 0 && g.flow >= g.haltUntil {
		k := g.haltSym
		g.syms[k].halted, g.haltSym = false, -1
		return g.tradingAction(dst, k, 'T')
	}
	// One random word drives most choices: PCG draws are a good part of
	// the cost of a message. Bits 0-19 pick the message, 20-39 the symbol,
	// 40-49 add-or-delete, 63 the fair value's step.
	w := g.rng.Uint64()
	u20 := float64(w>>20&(1<<20-1)) / (1 << 20)
	k := int(u20 * u20 * float64(len(g.syms))) // skewed: real volume is
	s := &g.syms[k]
	// The fair value walks geometrically, about 5% per hour at the
	// default rate.
	s.fair = max(s.fair*fairStep[w>>63], 2)
	r := uint32(w) & (1<<20 - 1)
	switch {
	case r < 4 && g.haltSym < 0 && !s.halted:
		s.halted, g.haltSym, g.haltUntil = true, k, g.flow+2000
		g.st.Halts++
		return g.tradingAction(dst, k, 'H')
	case r < 40: // ~0.004%: broken trade of a recent match
		if g.nextMatch > 10 {
			m := g.nextMatch - 1 - uint64(g.rng.IntN(10))
			return itch.AppendBrokenTrade(dst, itch.BrokenTrade{Header: g.hdr(g.matchLoc[m%16]), Match: m})
		}
	case r < 200: // ~0.015%: cross
		if !s.halted {
			return g.cross(dst, k)
		}
	}
	f := float64(g.live) / float64(g.cfg.LiveOrders)
	// Aggressive flow when the fair value has left the spread: executions
	// move the touch toward it.
	if !s.halted && s.best[0] != 0 && s.best[1] != 0 {
		if s.fair > float64(s.best[1])+1 && r&15 == 0 {
			return g.execute(dst, k, 1)
		}
		if s.fair < float64(s.best[0])-1 && r&15 == 0 {
			return g.execute(dst, k, 0)
		}
	}
	u := r >> 10 // 0..1023
	switch {
	case u < 30 && !s.halted: // ~3% executions at the touch
		if dst2, ok := g.tryExecute(dst, k, int(r>>5)&1); ok {
			return dst2
		}
	case u < 42 && !s.halted: // ~1% non-displayed trades
		return g.trade(dst, k)
	case u < 125: // ~8% replaces
		if dst2, ok := g.replace(dst); ok {
			return dst2
		}
	case u < 145: // ~2% partial cancels
		if dst2, ok := g.cancel(dst); ok {
			return dst2
		}
	}
	// Adds and deletes hold the live count near LiveOrders.
	pAdd := min(max(0.5+2*(1-f), 0.02), 0.98)
	if g.live == 0 || float64(w>>40&1023)/1024 < pAdd {
		return g.add(dst, k)
	}
	if dst2, ok := g.del(dst); ok {
		return dst2
	}
	return g.add(dst, k)
}

// lot draws an order size: mostly round lots, some odd lots, a few blocks.
func (g *Generator) lot() uint32 { return lotOf(g.rng.Uint32()) }

// lotOf draws a size from random bits (at least 16 of them).
func lotOf(r uint32) uint32 {
	switch {
	case r&15 == 0:
		return 1 + r>>4%99
	case r&255 == 1:
		return 100 * (10 + r>>8%90)
	default:
		return 100 * (1 + (r>>4)%5)
	}
}

// popLow returns the number of trailing one bits of x, at most 40: a
// geometric(1/2) draw from one random word.
func popLow(x uint64) int {
	n := 0
	for x&1 == 1 && n < 40 {
		n++
		x >>= 1
	}
	return n
}

// add appends an A or F for symbol k on a random side, at or behind the
// touch, never crossing the other side.
func (g *Generator) add(dst []byte, k int) []byte {
	s := &g.syms[k]
	a := g.rng.Uint64() // bits: 0 side, 1 spread, 2-17 offset, 20-29 deep, 32-39 MPID, 40-63 size
	side := int(a & 1)
	var p int64
	half := 0.5 + float64(a>>1&1)
	off := int64(popLow(a >> 2 & 0xffff))
	if a>>20&3 == 0 {
		off += int64(a >> 22 & 0xff % 20)
	}
	if side == 0 {
		p = int64(math.Floor(s.fair-half)) - off
		if s.best[1] != 0 {
			p = min(p, int64(s.best[1])-1)
		}
	} else {
		p = int64(math.Ceil(s.fair+half)) + off
		if s.best[0] != 0 {
			p = max(p, int64(s.best[0])+1)
		}
	}
	p = min(max(p, 1), math.MaxUint32/tickUnits)
	price := uint32(p)
	lv := &s.levels[side][price&(g.win-1)]
	if lv.count > 0 && lv.price != price {
		// The window slot holds another price far away: join the touch.
		if s.best[side] == 0 {
			return g.trade(dst, k)
		}
		price = s.best[side]
	}
	if s.best[side^1] != 0 && (side == 0 && price >= s.best[1] || side == 1 && price <= s.best[0]) {
		g.st.Crossed++
	}
	sh := lotOf(uint32(a >> 40))
	ref := g.nextRef
	g.nextRef++
	slot := g.insert(k, side, price, sh, ref)
	g.ring[g.rpos%uint64(len(g.ring))] = recent{slot: slot, ref: ref}
	g.rpos++
	m := itch.AddOrder{Header: g.hdr(uint16(k + 1)), OrderRef: ref, Side: sideByte(side), Shares: sh,
		Stock: s.stock, Price: itch.Price4(price * tickUnits)}
	if a>>32&31 == 0 {
		mp := mpids[a>>37&7%uint64(len(mpids))]
		return itch.AppendAddOrderMPID(dst, itch.AddOrderMPID{AddOrder: m, Attribution: mp})
	}
	return itch.AppendAddOrder(dst, m)
}

var mpids = [...][4]byte{{'G', 'S', 'C', 'O'}, {'M', 'S', 'C', 'O'}, {'V', 'I', 'R', 'T'}, {'C', 'D', 'R', 'G'}, {'J', 'P', 'M', 'S'}, {'U', 'B', 'S', 'S'}}

func sideByte(side int) byte {
	if side == 0 {
		return 'B'
	}
	return 'S'
}

// insert adds an order to the store and its level, returning its slot.
func (g *Generator) insert(k, side int, price, shares uint32, ref uint64) int32 {
	var slot int32
	if n := len(g.free); n > 0 {
		slot = g.free[n-1]
		g.free = g.free[:n-1]
	} else {
		if int(g.hw) == len(g.orders) {
			g.orders = append(g.orders, order{}) // beyond the preallocation: rare
			g.orders = g.orders[:cap(g.orders)]
		}
		slot = g.hw
		g.hw++
	}
	o := &g.orders[slot]
	*o = order{ref: ref, price: price, shares: shares, prev: -1, next: -1, sym: uint16(k), side: uint8(side)}
	g.link(slot)
	g.live++
	g.st.PeakLive = max(g.st.PeakLive, g.live)
	return slot
}

// link appends the order in slot to the tail of its level.
func (g *Generator) link(slot int32) {
	o := &g.orders[slot]
	s := &g.syms[o.sym]
	lv := &s.levels[o.side][o.price&(g.win-1)]
	if lv.count == 0 {
		lv.price, lv.head, lv.tail = o.price, slot, slot
	} else {
		g.orders[lv.tail].next = slot
		o.prev = lv.tail
		lv.tail = slot
	}
	lv.count++
	b := s.best[o.side]
	if b == 0 || (o.side == 0 && o.price > b) || (o.side == 1 && o.price < b) {
		s.best[o.side] = o.price
	}
}

// unlink takes the order in slot out of its level, moving the touch if the
// level empties.
func (g *Generator) unlink(slot int32) {
	o := &g.orders[slot]
	s := &g.syms[o.sym]
	lv := &s.levels[o.side][o.price&(g.win-1)]
	if o.prev >= 0 {
		g.orders[o.prev].next = o.next
	} else {
		lv.head = o.next
	}
	if o.next >= 0 {
		g.orders[o.next].prev = o.prev
	} else {
		lv.tail = o.prev
	}
	lv.count--
	if lv.count == 0 && s.best[o.side] == o.price {
		s.best[o.side] = g.scan(s, int(o.side), o.price)
	}
}

// scan finds the next price with orders behind from on side, within the window.
func (g *Generator) scan(s *symbol, side int, from uint32) uint32 {
	lvs := s.levels[side]
	for d := uint32(1); d < g.win; d++ {
		var p uint32
		if side == 0 {
			if d >= from {
				return 0
			}
			p = from - d
		} else {
			p = from + d
		}
		if lv := &lvs[p&(g.win-1)]; lv.count > 0 && lv.price == p {
			return p
		}
	}
	return 0
}

// remove frees the order in slot.
func (g *Generator) remove(slot int32) {
	g.unlink(slot)
	g.orders[slot].shares = 0
	g.free = append(g.free, slot)
	g.live--
}

// pick chooses a live order: mostly a recently added one, else any.
func (g *Generator) pick() (int32, bool) {
	if g.live == 0 {
		return 0, false
	}
	r := g.rng.Uint64()
	if r%5 != 0 && g.rpos > 0 {
		n := min(g.rpos, uint64(len(g.ring)))
		for i := range 3 {
			e := g.ring[(g.rpos-1-(r>>8+uint64(i)*977)%n)%uint64(len(g.ring))]
			if o := &g.orders[e.slot]; o.shares != 0 && o.ref == e.ref {
				return e.slot, true
			}
		}
	}
	for range 8 {
		slot := int32(g.rng.IntN(int(g.hw)))
		if g.orders[slot].shares != 0 {
			return slot, true
		}
	}
	return 0, false
}

func (g *Generator) del(dst []byte) ([]byte, bool) {
	slot, ok := g.pick()
	if !ok {
		return dst, false
	}
	o := g.orders[slot]
	g.remove(slot)
	return itch.AppendOrderDelete(dst, itch.OrderDelete{Header: g.hdr(o.sym + 1), OrderRef: o.ref}), true
}

func (g *Generator) cancel(dst []byte) ([]byte, bool) {
	slot, ok := g.pick()
	if !ok || g.orders[slot].shares < 2 {
		return dst, false
	}
	o := &g.orders[slot]
	c := 1 + uint32(g.rng.IntN(int(o.shares-1)))
	if o.shares >= 200 && o.shares%100 == 0 {
		c = 100 * (1 + uint32(g.rng.IntN(int(o.shares/100-1))))
	}
	o.shares -= c
	return itch.AppendOrderCancel(dst, itch.OrderCancel{Header: g.hdr(o.sym + 1), OrderRef: o.ref, Shares: c}), true
}

// replace moves a live order to a new ref, price and size on the same side.
func (g *Generator) replace(dst []byte) ([]byte, bool) {
	slot, ok := g.pick()
	if !ok {
		return dst, false
	}
	o := &g.orders[slot]
	s := &g.syms[o.sym]
	side := int(o.side)
	d := int64(g.rng.IntN(5)) - 2
	p := int64(o.price) + d
	if side == 0 && s.best[1] != 0 {
		p = min(p, int64(s.best[1])-1)
	}
	if side == 1 && s.best[0] != 0 {
		p = max(p, int64(s.best[0])+1)
	}
	p = min(max(p, 1), math.MaxUint32/tickUnits)
	price := uint32(p)
	if lv := &s.levels[side][price&(g.win-1)]; lv.count > 0 && lv.price != price {
		price = o.price
	}
	orig := o.ref
	g.unlink(slot)
	o.ref, o.price, o.shares, o.prev, o.next = g.nextRef, price, g.lot(), -1, -1
	g.nextRef++
	g.link(slot)
	g.ring[g.rpos%uint64(len(g.ring))] = recent{slot: slot, ref: o.ref}
	g.rpos++
	return itch.AppendOrderReplace(dst, itch.OrderReplace{Header: g.hdr(o.sym + 1), OrigRef: orig, NewRef: o.ref,
		Shares: o.shares, Price: itch.Price4(price * tickUnits)}), true
}

// execute appends an execution against the top of side (0: a sell
// aggressor hits the best bid; 1: a buy lifts the best ask), or another
// message if that side is empty.
func (g *Generator) execute(dst []byte, k, side int) []byte {
	if out, ok := g.tryExecute(dst, k, side); ok {
		return out
	}
	return g.add(dst, k)
}

func (g *Generator) tryExecute(dst []byte, k, side int) ([]byte, bool) {
	s := &g.syms[k]
	b := s.best[side]
	if b == 0 {
		return dst, false
	}
	slot := s.levels[side][b&(g.win-1)].head
	o := &g.orders[slot]
	q := min(o.shares, g.lot())
	ref, sym, price := o.ref, o.sym, o.price
	if q == o.shares {
		g.remove(slot)
	} else {
		o.shares -= q
	}
	m := g.match(sym + 1)
	e := itch.OrderExecuted{Header: g.hdr(sym + 1), OrderRef: ref, Shares: q, Match: m}
	if r := g.rng.Uint32(); r&15 == 0 {
		printable := byte('Y')
		if r&0x30 == 0 {
			printable = 'N'
		}
		return itch.AppendOrderExecutedPrice(dst, itch.OrderExecutedPrice{OrderExecuted: e, Printable: printable,
			Price: itch.Price4(price * tickUnits)}), true
	}
	return itch.AppendOrderExecuted(dst, e), true
}

// trade appends a P: a match against a non-displayed order, mostly inside
// the spread, about 1 in 200 through the touch.
func (g *Generator) trade(dst []byte, k int) []byte {
	s := &g.syms[k]
	bid, ask := s.best[0], s.best[1]
	r := g.rng.Uint32()
	var p4 uint32 // price in Price(4) units: midpoint pegs trade at half cents
	side := byte('B')
	if r&1 == 1 {
		side = 'S'
	}
	switch {
	case bid != 0 && ask != 0 && (r>>1)%200 == 0:
		g.st.TradeThroughs++
		through := 1 + (r>>9)%3
		p := ask + through
		if r>>20&1 == 1 && bid > through {
			p = bid - through
		}
		p4 = p * tickUnits
	case bid != 0 && ask != 0 && ask > bid+1:
		p4 = (bid + 1 + (r>>9)%(ask-bid-1)) * tickUnits
	case bid != 0 && ask != 0 && r>>12&3 != 0:
		p4 = bid*tickUnits + tickUnits/2 // one-tick spread: the midpoint
	case bid != 0 && ask != 0:
		p4 = bid * tickUnits
		if side == 'S' {
			p4 = ask * tickUnits
		}
	default:
		p4 = uint32(max(s.fair, 1)) * tickUnits
	}
	m := g.match(uint16(k + 1))
	return itch.AppendTrade(dst, itch.Trade{Header: g.hdr(uint16(k + 1)), Side: side, Shares: g.lot(),
		Stock: s.stock, Price: itch.Price4(p4), Match: m})
}

// cross appends a Q at the fair value.
func (g *Generator) cross(dst []byte, k int) []byte {
	s := &g.syms[k]
	types := [...]byte{'O', 'C', 'H', 'I'}
	m := g.match(uint16(k + 1))
	return itch.AppendCrossTrade(dst, itch.CrossTrade{Header: g.hdr(uint16(k + 1)), Shares: uint64(g.lot()) * 10,
		Stock: s.stock, Price: itch.Price4(uint32(max(s.fair, 1)) * tickUnits), Match: m, CrossType: types[g.rng.IntN(4)]})
}

// match returns the next match number, remembering its locate for breaks.
func (g *Generator) match(locate uint16) uint64 {
	m := g.nextMatch
	g.nextMatch++
	g.matchLoc[m%16] = locate
	return m
}
