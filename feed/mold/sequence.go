package mold

import (
	"slices"
	"time"
)

// packet runs one datagram through session, sequence and gap tracking. The
// in-order path (the common one) hands messages straight from the read
// buffer; only packets behind a gap are held. It reports whether the
// datagram was one of the session's (data, heartbeat or repeat): a malformed
// one or another session's says nothing of whether the session is alive.
func (r *Receiver) packet(d datagram) bool {
	r.st.packets.Add(1)
	p, err := Parse(d.buf[:d.n])
	if err != nil {
		r.st.malformed.Add(1)
		r.release(d)
		return false
	}
	if !r.haveSess {
		r.session, r.haveSess = p.Session, true
	} else if p.Session != r.session {
		r.st.wrong.Add(1)
		r.release(d)
		return false
	}
	if r.next == 0 {
		r.next = p.Seq
	}
	if r.unconfirmed(&p) {
		r.st.malformed.Add(1)
		r.release(d)
		return false
	}
	end := p.Seq + uint64(p.Messages())
	if p.Messages() == 0 && end > r.high {
		r.announcedAt = time.Now() // a heartbeat past the data: a gap no held packet dates
	}
	r.high = max(r.high, end)
	if p.End() {
		r.ended, r.endSeq = true, p.Seq
	}
	switch n := uint64(p.Messages()); {
	case n == 0:
		r.release(d)
	case end <= r.next:
		r.st.dups.Add(n)
		r.release(d)
	case p.Seq <= r.next:
		busy := r.handingOn()
		if r.gapOpen {
			r.filledAt = busy // a gap is being filled: its wait starts afresh
		}
		r.deliver(&p)
		r.release(d)
		r.drainHeld()
		r.handedOn(busy)
	default:
		r.hold(d, p.Seq)
	}
	r.checkGap()
	return true
}

// unconfirmed reports whether p jumps more than MaxJump past the highest
// sequence seen with nothing yet to confirm it. One corrupt or rogue
// datagram (a heartbeat announcing 2^60, say) would otherwise open a gap
// that never fills; once given up, the session's real packets would all be
// taken for repeats. A second packet within MaxJump of the first far one
// confirms the jump (a long outage, a late join), which is then a gap like
// any other: the first far packet is lost only if the rewind server cannot
// send it again.
func (r *Receiver) unconfirmed(p *Packet) bool {
	if r.near(p.Seq, max(r.high, r.next)) {
		return false
	}
	if r.farSeq != 0 && p.Seq >= r.farSeq && r.near(p.Seq, r.farSeq) {
		r.farSeq = 0
		return false
	}
	r.farSeq = p.Seq
	return true
}

// near reports whether seq is at most MaxJump past base, without base +
// MaxJump wrapping near the top of the sequence space.
func (r *Receiver) near(seq, base uint64) bool {
	return seq <= base || seq-base <= r.opts.MaxJump
}

// deliver hands on the packet's messages from r.next; earlier ones are repeats.
func (r *Receiver) deliver(p *Packet) {
	it := p.Iter()
	for {
		seq, msg, ok := it.Next()
		if !ok {
			return
		}
		if seq < r.next {
			r.st.dups.Add(1)
			continue
		}
		r.h(seq, msg)
		r.next++
		r.st.messages.Add(1)
	}
}

// hold keeps a packet that starts past r.next, in sequence order. A second
// copy of a held packet (the other line) is dropped.
func (r *Receiver) hold(d datagram, first uint64) {
	i, found := slices.BinarySearchFunc(r.held, first, func(h held, s uint64) int {
		switch {
		case h.first < s:
			return -1
		case h.first > s:
			return 1
		}
		return 0
	})
	if found {
		r.st.dups.Add(uint64(msgCount(d)))
		r.release(d)
		return
	}
	r.held = slices.Insert(r.held, i, held{d: d, first: first, at: time.Now()})
	if len(r.held) > r.opts.MaxHeld {
		r.giveUp() // nothing more can wait: the oldest gap is lost
	}
}

func msgCount(d datagram) int {
	p, _ := Parse(d.buf[:d.n])
	return p.Messages()
}

// drainHeld delivers held packets the sequence has reached.
func (r *Receiver) drainHeld() {
	k := 0
	for ; k < len(r.held) && r.held[k].first <= r.next; k++ {
		d := r.held[k].d
		p, _ := Parse(d.buf[:d.n]) // parsed once already: cannot fail
		r.deliver(&p)
		r.release(d)
	}
	if k > 0 {
		r.held = slices.Delete(r.held, 0, k)
	}
}

// gapEnd is one past the last missing sequence of the oldest gap.
func (r *Receiver) gapEnd() uint64 {
	if len(r.held) > 0 {
		return r.held[0].first
	}
	return r.high
}

// checkGap opens, advances or closes the recovery of the oldest gap. A gap
// that has already waited out its attempts behind the gaps before it is
// given up at once: otherwise each gap's wait would only start when it
// became the oldest, and with no rewind answering, the data would fall
// further behind at every gap.
func (r *Receiver) checkGap() {
	for r.next < r.gapEnd() {
		if r.gapOpen && r.askedAt == r.next {
			return // waiting for the answer to the last request
		}
		r.gapOpen = true // a new gap, or progress on the old one
		r.attempts = r.intervalsWaited(time.Now())
		if r.attempts < r.opts.MaxAttempts {
			r.request()
			return
		}
		r.giveUp()
	}
	if r.gapOpen {
		r.gapOpen = false
		r.timer.Stop()
	}
}

// intervalsWaited is how many retry intervals the oldest gap has gone
// unfilled: since the first packet held behind it arrived (with none held,
// since the heartbeat that announced it), or since a gap last filled (a
// rewind server working through a long outage gives every gap behind it
// its full wait).
func (r *Receiver) intervalsWaited(now time.Time) int {
	since := now
	if len(r.held) == 0 && r.announcedAt.Before(since) {
		since = r.announcedAt
	}
	for i := range r.held {
		if r.held[i].at.Before(since) {
			since = r.held[i].at
		}
	}
	if r.filledAt.After(since) {
		since = r.filledAt
	}
	return int(now.Sub(since) / r.opts.RetryInterval)
}

// request asks the rewind server for the front of the gap and arms the retry.
func (r *Receiver) request() {
	r.askedAt = r.next
	r.attempts++
	if r.rewind != nil {
		count := min(r.gapEnd()-r.next, r.opts.maxAsk())
		var req [HeaderLen]byte
		r.rewind.Write(AppendHeader(req[:0], r.session, r.next, uint16(count)))
		r.st.requests.Add(1)
	}
	r.timer.Reset(r.opts.RetryInterval)
}

// retry runs when an answer did not come in time.
func (r *Receiver) retry() {
	if !r.gapOpen {
		return
	}
	if r.attempts >= r.opts.MaxAttempts {
		r.giveUp()
		r.checkGap()
		return
	}
	r.request()
}

// giveUp declares the oldest gap lost, reports it, and moves on.
func (r *Receiver) giveUp() {
	end := r.gapEnd()
	if end <= r.next {
		return
	}
	first, count := r.next, end-r.next
	r.st.gaps.Add(1)
	r.st.lost.Add(count)
	r.next = end
	r.gapOpen = false
	r.timer.Stop()
	if r.opts.OnGap != nil {
		r.opts.OnGap(first, count)
	}
	busy := r.handingOn()
	r.drainHeld()
	r.handedOn(busy)
}

// handingOn starts timing a hand-on of messages while gaps wait (the zero
// time when none does: the in-order path reads no clock); handedOn stops
// the gaps' clocks for that long. The handler's time (an engine behind its
// backpressure, a fused engine) is not the rewind server's silence: counted
// as such, a loaded receiver gave gaps up without asking for them while the
// rewind server was answering.
func (r *Receiver) handingOn() time.Time {
	if !r.gapOpen && len(r.held) == 0 {
		return time.Time{}
	}
	return time.Now()
}

func (r *Receiver) handedOn(start time.Time) {
	if start.IsZero() {
		return
	}
	took := time.Since(start)
	for i := range r.held {
		r.held[i].at = r.held[i].at.Add(took)
	}
	r.announcedAt = r.announcedAt.Add(took)
	r.filledAt = r.filledAt.Add(took)
}
