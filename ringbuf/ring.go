package ringbuf

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/tickd/tickd/internal/release"
	"golang.org/x/sys/cpu"
)

// cacheLine is the size of one cpu.CacheLinePad, for hand padding after a field.
const cacheLine = unsafe.Sizeof(cpu.CacheLinePad{})

// Ring is a bounded single-producer ring of preallocated slots that are
// written and read in place. One goroutine produces (Reserve, Commit, Close);
// each Consumer is used by one goroutine. Every consumer sees every slot, in
// order, and the producer never overwrites a slot until the slowest consumer
// has released it.
//
// Positions are int64 sequence numbers that only grow (they would take
// centuries to wrap); slot i lives at buf[i&mask]. The fields are grouped so
// that no cache line is written by two goroutines: the read-only header, the
// producer's private state, the published cursor (producer writes, consumers
// read), each consumer's cursor (that consumer writes, the producer reads),
// and the wake-up state (written only when someone parks, or at Close).
type Ring[T any] struct {
	_ cpu.CacheLinePad

	// Read-only after New (66 B over two lines): shared by every goroutine
	// and never invalidated.
	buf    []T            // 24 B the slots, len a power of two
	mask   int64          //  8 B len(buf)-1
	cons   []*Consumer[T] // 24 B consumers, for the producer's gate and wake-ups
	bell   *Bell          //  8 B rung on Commit and Close, or nil
	wait   WaitStrategy   //  1 B how the producer and consumers wait
	notify bool           //  1 B Commit has someone to tell: a Bell, or Park consumers
	_      cpu.CacheLinePad

	// Producer-private (24 B): only the producer goroutine touches these.
	next     int64 //  8 B sequence of the first unpublished slot (== published)
	gate     int64 //  8 B cached cursor of the slowest consumer; free = len(buf)-(next-gate)
	reserved int64 //  8 B slots handed out by the last Reserve and not yet committed
	_        cpu.CacheLinePad

	// published is the count of committed slots: the producer stores it on
	// every Commit, consumers load it only when their cached copy runs out.
	published atomic.Int64 //  8 B
	_         [cacheLine - 8]byte

	// Wake-up state (32 B): the fast paths only load these (Reserve: closed;
	// Commit under Park: sleepers; Release under Park: prod.armed); they are
	// written when a goroutine parks, and once by Close.
	closed   atomic.Bool  //  1 B set once by Close
	sleepers atomic.Int32 //  4 B consumers armed to park on their own parker
	prod     parker       // 24 B the producer, parked while the ring is full
	_        cpu.CacheLinePad
}

// New returns a ring with opts applied over the defaults, or an error
// wrapping ErrOptions.
func New[T any](opts Options) (*Ring[T], error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	r := &Ring[T]{
		buf:    make([]T, opts.Capacity),
		mask:   int64(opts.Capacity - 1),
		bell:   opts.Bell,
		wait:   opts.Wait,
		notify: opts.Bell != nil || opts.Wait == Park,
	}
	r.prod.init()
	r.cons = make([]*Consumer[T], opts.Consumers)
	for i := range r.cons {
		c := &Consumer[T]{r: r, buf: r.buf, mask: r.mask, park: opts.Wait == Park}
		c.parker.init()
		r.cons[i] = c
	}
	return r, nil
}

// Cap returns the number of slots.
func (r *Ring[T]) Cap() int { return len(r.buf) }

// Len returns the number of committed slots the slowest consumer has not
// released yet. It is a snapshot, for metrics.
func (r *Ring[T]) Len() int { return int(r.published.Load() - r.minCursor()) }

// Consumer returns consumer i, 0 <= i < Options.Consumers. Each consumer
// must be used by one goroutine at a time.
func (r *Ring[T]) Consumer(i int) *Consumer[T] {
	if i < 0 || i >= len(r.cons) {
		panic(fmt.Sprintf("ringbuf: Consumer(%d) out of range [0,%d)", i, len(r.cons)))
	}
	return r.cons[i]
}

// Reserve returns 1..n contiguous free slots to write in place, waiting per
// the wait strategy while the ring is full. It returns fewer than n at the
// end of the buffer (the next Reserve continues at its start) and when
// fewer are free; n is clamped to 1..Cap. The slots hold whatever was last
// written there, so the producer must set every field it publishes. They
// stay the producer's until Commit; a second Reserve without Commit returns
// the same slots again. Reserve returns nil once the ring is Closed.
func (r *Ring[T]) Reserve(n int) []T {
	idx := r.next & r.mask
	k := span(n, int64(len(r.buf))-idx)
	// Fast path: the cached gate already shows k free slots.
	if r.next+k-r.gate > int64(len(r.buf)) || r.closed.Load() {
		return r.reserveSlow(idx, k, true)
	}
	r.reserved = k
	return r.buf[idx : idx+k : idx+k]
}

// TryReserve is Reserve without waiting: it returns nil when no slot is free
// (or the ring is Closed).
func (r *Ring[T]) TryReserve(n int) []T {
	idx := r.next & r.mask
	k := span(n, int64(len(r.buf))-idx)
	if r.next+k-r.gate > int64(len(r.buf)) || r.closed.Load() {
		return r.reserveSlow(idx, k, false)
	}
	r.reserved = k
	return r.buf[idx : idx+k : idx+k]
}

// span clamps a requested batch n to 1..room, room being the slots left
// before the end of the buffer (batches never wrap).
func span(n int, room int64) int64 {
	return max(min(int64(n), room), 1)
}

// reserveSlow refreshes the gate from the consumers' cursors and waits
// while nothing is free.
func (r *Ring[T]) reserveSlow(idx, k int64, block bool) []T {
	bo := backoff{w: r.wait}
	for {
		if r.closed.Load() {
			r.reserved = 0
			return nil
		}
		r.gate = r.minCursor()
		if free := int64(len(r.buf)) - (r.next - r.gate); free > 0 {
			k = min(k, free)
			r.reserved = k
			return r.buf[idx : idx+k : idx+k]
		}
		if !block {
			return nil
		}
		if bo.pause() {
			continue
		}
		// Park: arm, then re-check. A consumer's Release stores its cursor
		// and then loads prod.armed; we store prod.armed and then load the
		// cursors. Sequential consistency means one of us sees the other.
		r.prod.arm()
		if r.minCursor() != r.gate || r.closed.Load() {
			r.prod.disarm()
			continue
		}
		r.prod.sleep()
	}
}

// minCursor loads every consumer's cursor and returns the lowest.
func (r *Ring[T]) minCursor() int64 {
	m := r.cons[0].cursor.Load()
	for _, c := range r.cons[1:] {
		if v := c.cursor.Load(); v < m {
			m = v
		}
	}
	return m
}

// Commit publishes the first k slots of the last Reserve, in order, to every
// consumer; the rest stay reserved for a further Commit (or are handed out
// again by the next Reserve). k beyond what is reserved panics.
//
// The producer's plain writes to the slots happen before its atomic store
// of published, and a consumer reads the slots only after an atomic load
// that observed that store; Go's memory model makes the writes visible.
func (r *Ring[T]) Commit(k int) {
	if uint64(k) > uint64(r.reserved) {
		badCount("Commit", k, r.reserved)
	}
	r.reserved -= int64(k)
	r.next += int64(k)
	if r.notify {
		r.published.Store(r.next) // a full fence: wakeConsumers' load must not pass it
		r.wakeConsumers()
	} else {
		release.StoreInt64(&r.published, r.next)
	}
}

// badCount panics for a Commit or Release beyond what was handed out; it is
// kept out of line so that the callers stay cheap enough to inline.
//
//go:noinline
func badCount(op string, k int, have int64) {
	panic(fmt.Sprintf("ringbuf: %s(%d) with %d slots outstanding", op, k, have))
}

// wakeConsumers rings the Bell and wakes parked consumers. The load of
// sleepers follows the store of published; a consumer adds itself to
// sleepers before re-loading published (see Consumer.waitSlow).
func (r *Ring[T]) wakeConsumers() {
	if r.bell != nil {
		r.bell.Ring()
	}
	if r.sleepers.Load() == 0 {
		return
	}
	for _, c := range r.cons {
		if c.parker.wake() {
			r.sleepers.Add(-1)
		}
	}
}

// Close ends the stream: Reserve returns nil from now on, consumers drain
// what was committed and then see the end (Wait returns ok=false), and
// parked consumers, the Bell's Idler and a producer parked in Reserve are
// woken. Call it from the producer after its last Commit; calling it from
// another goroutine is safe but only serves to unblock the producer, and
// slots committed after it may never be seen. Close is idempotent.
func (r *Ring[T]) Close() {
	if r.closed.Swap(true) {
		return
	}
	if r.bell != nil {
		r.bell.Ring()
	}
	for _, c := range r.cons {
		if c.parker.wake() {
			r.sleepers.Add(-1)
		}
	}
	r.prod.wake()
}

// Closed reports whether Close has been called.
func (r *Ring[T]) Closed() bool { return r.closed.Load() }

// Published returns the count of slots committed so far. Any goroutine.
func (r *Ring[T]) Published() int64 { return r.published.Load() }

// Released returns the count of slots every consumer has released: all
// reading of the slots below it is done. Any goroutine.
func (r *Ring[T]) Released() int64 { return r.minCursor() }
