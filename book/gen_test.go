package book

import (
	"math/rand/v2"

	"github.com/tickd/tickd/tick"
)

// gen generates a realistic L3 stream without allocating: adds around a
// per-symbol mid that random-walks, and cancels, deletes, executions (E, C
// printable and not) and replaces of random live orders, holding the live
// count near target. A fraction of messages names references never added.
type gen struct {
	rng        *rand.Rand
	live       []genOrder
	target     int
	syms       int
	mid        []int64 // per symbol, in ticks of 0.01
	nextRef    uint64
	unknownPer int // unknown-reference messages per 1000
	n          uint64
	// refs is how orders are numbered.
	refs refNumbering
	// dupPer is adds per 1000 that reuse a live order's reference.
	dupPer int
}

// newRef returns the next order reference.
func (g *gen) newRef() uint64 {
	r := g.nextRef
	g.nextRef++
	switch g.refs {
	case refsScrambled32:
		r = uint64(uint32(r) * 0x9E3779B9) // odd: a bijection of uint32
	case refsScrambled64:
		r *= 0x9E3779B97F4A7C15
	}
	return r
}

// refNumbering is how the generator numbers orders.
type refNumbering int

const (
	refsSequential  refNumbering = iota // 1, 2, 3…, as NASDAQ numbers them
	refsScrambled32                     // a bijective hash of the sequence into 32 bits
	refsScrambled64                     // a bijective hash into 64 bits: references in no order, spread over the whole range
)

func (r refNumbering) String() string {
	return [...]string{"sequential", "scrambled32", "scrambled64"}[r]
}

type genOrder struct {
	ref  uint64
	qty  int64
	sym  tick.SymbolID
	side tick.Side
}

const genTick = tick.Price(tick.PriceScale / 100)

func newGen(seed uint64, syms, target, unknownPer int) *gen {
	g := &gen{
		rng:        rand.New(rand.NewPCG(seed, seed*0x9E3779B97F4A7C15+1)),
		live:       make([]genOrder, 0, target+target/2+16),
		target:     target,
		syms:       syms,
		mid:        make([]int64, syms),
		nextRef:    1,
		unknownPer: unknownPer,
	}
	for i := range g.mid {
		g.mid[i] = 1000 + int64(g.rng.IntN(20000))
	}
	return g
}

// price returns a limit near the mid: most orders within a few ticks, some far.
func (g *gen) price(sym tick.SymbolID, side tick.Side) tick.Price {
	off := int64(1 + min(g.rng.IntN(6), g.rng.IntN(6)))
	if g.rng.IntN(10) == 0 {
		off += int64(g.rng.IntN(60))
	}
	m := g.mid[sym]
	if side == tick.SideBuy {
		return tick.Price(max(m-off, 1)) * genTick
	}
	return tick.Price(m+off) * genTick
}

func (g *gen) add(ev *tick.Event) {
	sym := tick.SymbolID(g.rng.IntN(g.syms))
	side := tick.SideBuy + tick.Side(g.rng.IntN(2))
	o := genOrder{ref: g.newRef(), qty: int64(100 * (1 + g.rng.IntN(5))), sym: sym, side: side}
	*ev = tick.Event{Kind: tick.KindAdd, OrderRef: o.ref, Symbol: sym, Side: side, Price: g.price(sym, side), Qty: o.qty}
	if g.dupPer > 0 && len(g.live) > 0 && g.rng.IntN(1000) < g.dupPer {
		ev.OrderRef = g.live[g.rng.IntN(len(g.live))].ref // rejected: the live order stays
		return
	}
	g.live = append(g.live, o)
}

// fill emits adds only until target orders are live; it returns how many.
func (g *gen) fill(dst []tick.Event) int {
	n := 0
	for n < len(dst) && len(g.live) < g.target {
		g.add(&dst[n])
		n++
	}
	return n
}

func (g *gen) next(ev *tick.Event) {
	g.n++
	ev.Seq = g.n
	if g.n%64 == 0 { // move one mid a tick
		s := g.rng.IntN(g.syms)
		g.mid[s] += int64(g.rng.IntN(3)) - 1
		g.mid[s] = max(g.mid[s], 10)
	}
	if g.unknownPer > 0 && g.rng.IntN(1000) < g.unknownPer {
		ref := 1<<40 + g.rng.Uint64N(1<<20)
		kinds := [...]tick.Kind{tick.KindExecute, tick.KindCancel, tick.KindDelete, tick.KindReplace, tick.KindExecutePrice}
		*ev = tick.Event{Kind: kinds[g.rng.IntN(len(kinds))], OrderRef: ref, NewRef: g.nextRef, Qty: 100, Price: 100 * genTick}
		return
	}
	// Add with probability 0.45 at target, more below it, less above.
	pAdd := 450 + (g.target-len(g.live))*1000/max(g.target, 1)
	r := g.rng.IntN(1000)
	if len(g.live) == 0 || r < pAdd {
		g.add(ev)
		return
	}
	i := g.rng.IntN(len(g.live))
	o := &g.live[i]
	*ev = tick.Event{OrderRef: o.ref, Symbol: o.sym}
	switch op := g.rng.IntN(100); {
	case op < 45:
		ev.Kind = tick.KindDelete
		g.remove(i)
	case op < 60:
		ev.Kind = tick.KindCancel
		g.reduce(ev, i)
	case op < 80:
		ev.Kind = tick.KindExecute
		g.reduce(ev, i)
	case op < 85:
		ev.Kind = tick.KindExecutePrice
		ev.Price = tick.Price(g.mid[o.sym]) * genTick
		g.reduce(ev, i)
	case op < 87:
		ev.Kind = tick.KindExecuteNoPrint
		ev.Price = tick.Price(g.mid[o.sym]) * genTick
		g.reduce(ev, i)
	case op < 97:
		ev.Kind = tick.KindReplace
		ev.NewRef = g.newRef()
		ev.Price = g.price(o.sym, o.side)
		ev.Qty = int64(100 * (1 + g.rng.IntN(5)))
		o.ref, o.qty = ev.NewRef, ev.Qty
	default:
		*ev = tick.Event{Kind: tick.KindTrade, Symbol: o.sym, Price: tick.Price(g.mid[o.sym]) * genTick, Qty: 100}
	}
}

// reduce takes a random part of order i; sometimes all of it, rarely more.
func (g *gen) reduce(ev *tick.Event, i int) {
	o := &g.live[i]
	q := 1 + g.rng.Int64N(o.qty)
	if g.rng.IntN(4) == 0 {
		q = o.qty
	}
	if g.rng.IntN(200) == 0 {
		q = o.qty + 1 // an over-execution
	}
	ev.Qty = q
	if o.qty -= q; o.qty <= 0 {
		g.remove(i)
	}
}

func (g *gen) remove(i int) {
	last := len(g.live) - 1
	g.live[i] = g.live[last]
	g.live = g.live[:last]
}
