package feed

// LendingTap is a Tap that can take a read without copying it on the
// source's goroutine. A pump whose Tap implements it calls Lend instead of
// Data: the tap keeps b (records it later, on its own goroutine) and the
// pump leaves those bytes alone until WaitReturned(ticket) has returned. The
// pump reads into several buffers in turn, so it waits only when it comes
// back to a buffer the tap still holds. Other callers (ITCH sources) keep
// calling Data.
type LendingTap interface {
	Tap
	// Lend records b like Data, without copying it yet. The ticket it
	// returns is 0 when the tap did not keep b (it is stopped), or else
	// grows with every call, and a ticket is returned only after every
	// smaller one.
	Lend(source uint16, recv int64, b []byte) (ticket uint64)
	// WaitReturned blocks until the loan with this ticket (and so every
	// earlier one) is done with. It returns at once for 0 or a returned
	// ticket, without taking a lock.
	WaitReturned(ticket uint64)
}

// lendBuffers is how many read buffers a pump with a LendingTap rotates
// through: enough that the tap's writer, which takes lent reads in batches,
// rarely keeps the pump waiting.
const lendBuffers = 8

// lender is the pump's state when its tap borrows the read buffers.
type lender struct {
	tap     LendingTap
	bufs    [lendBuffers][]byte // allocated on first use
	tickets [lendBuffers]uint64 // last ticket lent from each buffer
	cur     int                 // bufs[cur] is pump.buf
}

// nextBuffer moves the pending bytes buf[lo:hi] to the start of the next buffer,
// once the tap has returned every loan on it, and makes that buffer buf.
// The current one cannot be compacted in place: the tap may hold it.
func (p *pump) nextBuffer() {
	l := p.lend
	l.cur = (l.cur + 1) % lendBuffers
	if l.bufs[l.cur] == nil {
		l.bufs[l.cur] = make([]byte, len(p.buf))
	}
	l.tap.WaitReturned(l.tickets[l.cur])
	l.tickets[l.cur] = 0
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
