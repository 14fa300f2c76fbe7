package feed

import "slices"

// LendingTap is a Tap that can take a read without copying it on the
// source's goroutine. A pump whose Tap implements it calls Lend instead of
// Data: the tap keeps b (records it later, on its own goroutine) and the
// pump leaves those bytes alone until WaitReturned(ticket) has returned. The
// pump reads into several buffers in turn, so it waits only when it comes
// back to a buffer the tap still holds and it has as many as it may keep. Other callers (ITCH sources) keep
// calling Data.
type LendingTap interface {
	Tap
	// Lend records b like Data, without copying it yet. The ticket it
	// returns is 0 when the tap did not keep b (it is stopped), or else
	// grows with every call, and a ticket is returned only after every
	// smaller one.
	Lend(source uint16, recv int64, b []byte) (ticket uint64)
	// Returned reports whether the loan with this ticket is done with
	// (true for 0), without blocking or taking a lock.
	Returned(ticket uint64) bool
	// WaitReturned blocks until the loan with this ticket (and so every
	// earlier one) is done with. It returns at once for 0 or a returned
	// ticket, without taking a lock.
	WaitReturned(ticket uint64)
}

// lendBuffers caps the read buffers a pump with a LendingTap rotates
// through. It adds one only when the next is still lent, so a source the
// tap keeps up with uses one or two; a fast one uses up to lendBuffers,
// enough to cover the time a batching tap lets reads pile up (a recorder's
// writer lingers up to a millisecond: 2 MiB of 64 KiB reads at 1 GB/s).
const lendBuffers = 32

// lender is the pump's state when its tap borrows the read buffers.
type lender struct {
	tap     LendingTap
	bufs    [][]byte // in rotation order; pump.buf is bufs[cur]
	tickets []uint64 // the last ticket lent from each buffer
	cur     int
}

func newLender(tap LendingTap, buf []byte) *lender {
	l := &lender{tap: tap, bufs: make([][]byte, 1, lendBuffers), tickets: make([]uint64, 1, lendBuffers)}
	l.bufs[0] = buf
	return l
}

// nextBuffer moves the pending bytes buf[lo:hi] to the start of a buffer
// the tap does not hold: the current one if its loans are back, else the
// next in turn, a new one if that is still lent (up to lendBuffers), or
// the next once the tap returns it.
func (p *pump) nextBuffer() {
	l := p.lend
	if !l.tap.Returned(l.tickets[l.cur]) {
		next := (l.cur + 1) % len(l.bufs)
		if !l.tap.Returned(l.tickets[next]) && len(l.bufs) < cap(l.bufs) {
			// Insert it here so the rotation still meets the oldest loan next.
			next = l.cur + 1
			l.bufs = slices.Insert(l.bufs, next, make([]byte, len(p.buf)))
			l.tickets = slices.Insert(l.tickets, next, 0)
		}
		l.tap.WaitReturned(l.tickets[next])
		l.cur = next
	}
	p.hi = copy(l.bufs[l.cur], p.buf[p.lo:p.hi])
	p.lo = 0
	p.buf = l.bufs[l.cur]
}

// lent hands the tap the n bytes just read at buf[hi:].
func (p *pump) lent(recv int64, n int) {
	l := p.lend
	if t := l.tap.Lend(p.ctrs.id, recv, p.buf[p.hi:p.hi+n]); t != 0 {
		l.tickets[l.cur] = t
	}
}
