package book

import "github.com/tickd/tickd/tick"

// group is how many events ApplyBatch prefetches together: enough independent
// cache misses in flight to hide most of their latency, few enough that the
// touched lines are still cached when the events are applied.
const group = 16

// ApplyBatch applies evs in order, writing the Result of evs[i] to res[i] (res
// must be at least as long as evs). It is Apply with the cache misses of a
// large order index overlapped: for each group of events it first touches the
// index entries they will look up, then the orders those name, then those
// orders' FIFO neighbours, each phase's loads independent of one another so
// the CPU keeps them in flight together (Go has no prefetch intrinsic, so
// these are plain loads whose values are discarded). Touches are only hints:
// an earlier event in the group may change what a later one finds, and Apply
// looks everything up again.
func (b *Books) ApplyBatch(evs []tick.Event, res []Result) {
	res = res[:len(evs)]
	for len(evs) > 0 {
		n := min(len(evs), group)
		b.prefetch(evs[:n])
		for i := range evs[:n] {
			res[i] = b.Apply(&evs[i])
		}
		evs, res = evs[n:], res[n:]
	}
}

func refOf(ev *tick.Event) (uint64, bool) {
	switch ev.Kind {
	case tick.KindAdd, tick.KindExecute, tick.KindExecutePrice, tick.KindExecuteNoPrint,
		tick.KindCancel, tick.KindDelete, tick.KindReplace:
		return ev.OrderRef, true
	}
	return 0, false
}

// Prefetch touches what applying evs will read, as ApplyBatch does, for a
// caller that must interleave its own work between the Applies (the engine
// evaluates rules after each event). It is only a hint: it changes nothing,
// and at most the first PrefetchGroup events are touched.
func (b *Books) Prefetch(evs []tick.Event) {
	b.prefetch(evs[:min(len(evs), group)])
}

// PrefetchGroup is how many events Prefetch touches at a time.
const PrefetchGroup = group

// prefetch touches, in three phases of independent loads, what applying evs
// (at most group events) will read: the references' window slots (and
// their table slots when the table may hold them), the orders those name
// (a window slot's order is read to check its reference), and the orders'
// FIFO neighbours. The sum of the loaded words is kept in
// b.touched so the compiler cannot drop the loads.
func (b *Books) prefetch(evs []tick.Event) {
	var pos [group]uint64
	var idx [group]uint32
	var acc uint64
	x := &b.refs
	t := &x.tab
	inTab := x.tab.count > 0
	for i := range evs {
		if ref, ok := refOf(&evs[i]); ok {
			acc += uint64(x.win[ref&x.winMask])
			if inTab && ref <= x.tabMax {
				pos[i] = t.home(ref)
				acc += t.slots[pos[i]].ref
			}
		}
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Kind == tick.KindAdd {
			continue
		}
		ref, ok := refOf(ev)
		if !ok {
			continue
		}
		if w := x.win[ref&x.winMask]; w != 0 && b.orders[w].ref == ref {
			idx[i] = w
		} else if inTab && ref <= x.tabMax {
			// The home slot is cached now; a short probe usually finds ref.
			for p, k := pos[i], 0; k < 4; p, k = (p+1)&t.mask, k+1 {
				s := &t.slots[p]
				if s.idx == 0 {
					break
				}
				if s.ref == ref {
					idx[i] = s.idx
					acc += uint64(b.orders[s.idx].next)
					break
				}
			}
		}
	}
	for i := range evs {
		if o := idx[i]; o != 0 {
			ord := &b.orders[o]
			acc += b.orders[ord.prev].ref + b.orders[ord.next].ref
		}
	}
	b.touched += acc
}
