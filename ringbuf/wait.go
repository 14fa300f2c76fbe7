package ringbuf

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

// Escalation, in idle rounds (one round = one failed poll). A spinning
// round pauses between polls, the pause doubling every 8 rounds from
// minPause to maxPause loop iterations (~2 to ~80 ns), so a waiter that
// has just missed polls again at once, while a longer wait stops hammering
// the cache line the other side is about to store to. After spinRounds
// (~5 µs) SpinYield and Park call runtime.Gosched between polls; after
// yieldRounds more, Park sleeps (a wake-up costs ~50 µs here, so it first
// spends about that long spinning and yielding).
const (
	spinRounds  = 64
	yieldRounds = 256
	minPause    = 8
	maxPause    = 256
)

// spinYieldMask makes even Spin call runtime.Gosched once every 1024
// rounds (tens of microseconds), so that more spinners than cores still make
// progress without waiting ~10 ms for the scheduler to preempt them.
const spinYieldMask = 1<<10 - 1

// parkTimeout bounds every park. The protocol never loses a wake-up, so
// this is only a safety net; it is long enough to cost nothing when idle.
const parkTimeout = 10 * time.Millisecond

// backoff counts the failed polls of one waiting goroutine and escalates
// per its strategy. It lives on the waiter's stack.
type backoff struct {
	n uint32
	w WaitStrategy
}

// pause spins or yields once and reports true, or reports false when the
// strategy says the caller should now park (only ever under Park).
func (b *backoff) pause() bool {
	n := b.n
	switch {
	case n < spinRounds || b.w == Spin:
		if n&spinYieldMask == spinYieldMask {
			runtime.Gosched() // Spin's safety valve, see spinYieldMask
		} else {
			spin(min(uint32(minPause)<<min(n/8, 24), maxPause))
		}
	case n < spinRounds+yieldRounds || b.w == SpinYield:
		runtime.Gosched()
	default:
		return false
	}
	b.n = n + 1
	return true
}

// spin burns about iters cycles without touching memory, as a stand-in
// for the PAUSE instruction Go does not expose. The gc compiler keeps empty
// loops; were one to delete it, the pause would merely shrink.
//
//go:noinline
func spin(iters uint32) {
	for i := uint32(0); i < iters; i++ {
	}
}

// parker lets one goroutine sleep until another wakes it, without ever
// losing a wake-up. The sleeper arms (armed=1), re-checks its condition and
// only then sleeps; the waker makes the condition true and then disarms
// (CAS 1→0) and sends a token. Because Go's atomics are sequentially
// consistent, either the sleeper's re-check sees the waker's write or the
// waker's load sees armed=1 (a Dekker handshake), so a sleeper never sleeps
// through a wake-up meant for it. The channel holds one token, so a waker
// never blocks; a stale token only causes one spurious wake-up, which every
// caller tolerates by re-polling in a loop.
type parker struct {
	armed atomic.Int32  // 4 B (+4) 1 while the owner is (about to be) asleep
	ch    chan struct{} // 8 B      capacity 1: the wake-up token
	timer *time.Timer   // 8 B      owner's reused bounded-sleep timer, made on first sleep
}

func (p *parker) init() { p.ch = make(chan struct{}, 1) }

// arm announces that the owner is about to sleep. The owner must re-check
// its condition after arm and before sleep.
func (p *parker) arm() { p.armed.Store(1) }

// disarm withdraws an arm that was not consumed by a waker; it reports
// whether it did (false: a waker got there first and a token is on its way).
func (p *parker) disarm() bool { return p.armed.CompareAndSwap(1, 0) }

// sleep blocks until a token arrives or parkTimeout passes, then disarms;
// it reports whether it disarmed (true: no waker consumed the arm).
func (p *parker) sleep() bool {
	if p.timer == nil {
		p.timer = time.NewTimer(parkTimeout)
	} else {
		// Since Go 1.23 Reset on a stopped or fired timer leaves no stale
		// value in C, so the timer can be reused without draining.
		p.timer.Reset(parkTimeout)
	}
	select {
	case <-p.ch:
	case <-p.timer.C:
	}
	p.timer.Stop()
	return p.disarm()
}

// wake wakes the owner if it is armed; it costs one load when it is not.
// It reports whether it sent a token.
func (p *parker) wake() bool {
	if p.armed.Load() == 0 || !p.armed.CompareAndSwap(1, 0) {
		return false
	}
	select {
	case p.ch <- struct{}{}:
	default: // a stale token is already there; it will do
	}
	return true
}

// Bell wakes the one goroutine that consumes several rings (fan-in). Rings
// created with Options.Bell ring it on every Commit and on Close; the
// consumer goroutine idles with an Idler on the same Bell. A Bell has at
// most one waiting goroutine (one Idler); ringing it when nobody is parked
// costs one atomic load.
type Bell struct {
	_ cpu.CacheLinePad
	p parker // armed read by every producer per Commit; written only when parking
	_ cpu.CacheLinePad
}

// NewBell returns a Bell. The zero Bell is not usable.
func NewBell() *Bell {
	b := new(Bell)
	b.p.init()
	return b
}

// Ring wakes the Bell's Idler if it is parked (or about to park). Rings
// call it themselves; call it too when the Idler's goroutine should re-poll
// for reasons of its own (a ring added to its set, a stop flag set).
func (b *Bell) Ring() { b.p.wake() }

// Idler idles the goroutine that polls several rings sharing a Bell. Use it
// in a loop:
//
//	for {
//		n := pollAll()      // Poll every ring, process and Release
//		if n > 0 {
//			idler.Reset()
//			continue
//		}
//		if allClosed() {
//			break
//		}
//		idler.Idle()
//	}
//
// Idle escalates per the strategy: spin, then yield, then (Park only) park.
// Parking takes two calls, which is what makes it lossless: the first Idle
// at the park stage only arms the Bell and returns, so the caller polls
// every ring once more; the next Idle, if that poll found nothing, sleeps.
// A producer that committed after that last poll rang the armed Bell (its
// Commit stored the cursor before loading the Bell's flag, the Idler stored
// the flag before the poll loaded the cursor; with sequentially consistent
// atomics one of the two sees the other), so the sleep returns at once.
// Reset disarms. An Idler belongs to one goroutine.
type Idler struct {
	b     *Bell
	bo    backoff
	armed bool // the Bell is armed and a re-poll is owed before sleeping
}

// NewIdler returns an Idler for strategy w (0 means SpinYield) on Bell b.
// b may be nil only when w never parks (Spin, SpinYield). An unknown w
// panics, as Options.Wait fails New.
func NewIdler(w WaitStrategy, b *Bell) *Idler {
	w = w.orDefault()
	if w > Park {
		panic(fmt.Sprintf("ringbuf: NewIdler: unknown wait strategy %d", w))
	}
	if w == Park && b == nil {
		panic("ringbuf: NewIdler: Park needs a Bell")
	}
	return &Idler{b: b, bo: backoff{w: w}}
}

// Idle waits a little; call it when a poll over all rings found nothing.
func (i *Idler) Idle() {
	if i.bo.pause() {
		return
	}
	if !i.armed {
		i.b.p.arm()
		i.armed = true
		return // the caller re-polls before we may sleep
	}
	i.b.p.sleep()
	i.armed = false
}

// Reset restarts the escalation; call it when a poll found work.
func (i *Idler) Reset() {
	i.bo.n = 0
	if i.armed {
		i.b.p.disarm()
		i.armed = false
	}
}
