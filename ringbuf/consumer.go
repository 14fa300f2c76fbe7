package ringbuf

import (
	"sync/atomic"

	"github.com/tickd/tickd/internal/release"
	"golang.org/x/sys/cpu"
)

// Consumer is one reader of a Ring, with its own cursor: it sees every
// committed slot in order, independently of the ring's other consumers.
// A Consumer belongs to one goroutine.
type Consumer[T any] struct {
	_ cpu.CacheLinePad

	// cursor is the count of slots this consumer has released: it stores
	// it on every Release, the producer loads it only when its gate runs out.
	cursor atomic.Int64 //  8 B
	_      [cacheLine - 8]byte

	// Consumer-private, plus read-only copies of the ring's header: the
	// first 64 B are all Poll touches besides the published line and the
	// slots; park, read by Release, starts the next (mostly-read) line.
	pos       int64    //  8 B == cursor: sequence of the first unreleased slot
	cachedPub int64    //  8 B last published count loaded; pos..cachedPub are readable
	batch     int64    //  8 B slots in the last batch not yet released
	buf       []T      // 24 B r.buf
	mask      int64    //  8 B r.mask
	r         *Ring[T] //  8 B
	park      bool     //  1 B r.wait == Park: Release may have to wake the producer

	parker parker // armed read by the producer only when sleepers > 0
	_      cpu.CacheLinePad
}

// Poll returns the committed slots after the last released one (a
// contiguous run, shorter at the end of the buffer), or nil when there are
// none. It never waits. The slots alias ring memory and stay valid (the
// producer will not overwrite them) until Release; a Poll or Wait without a
// Release in between returns them again.
//
// Poll is kept small enough for the compiler to inline (into Wait and into
// fan-in loops): check with go build -gcflags=-m.
func (c *Consumer[T]) Poll() []T {
	if c.cachedPub == c.pos { // pos <= cachedPub <= published, always
		c.cachedPub = c.r.published.Load()
		if c.cachedPub == c.pos {
			c.batch = 0
			return nil
		}
	}
	idx := c.pos & c.mask
	n := min(c.cachedPub-c.pos, int64(len(c.buf))-idx)
	c.batch = n
	return c.buf[idx : idx+n : idx+n]
}

// Wait is Poll that waits, per the ring's strategy, for at least one slot.
// It returns ok=false, with no slots, once the ring is closed and this
// consumer has released everything committed before Close.
func (c *Consumer[T]) Wait() (batch []T, ok bool) {
	if b := c.Poll(); len(b) > 0 {
		return b, true
	}
	return c.waitSlow()
}

func (c *Consumer[T]) waitSlow() ([]T, bool) {
	r := c.r
	bo := backoff{w: r.wait}
	for {
		if b := c.Poll(); len(b) > 0 {
			return b, true
		}
		if r.closed.Load() {
			// Close stored closed after the last Commit stored published,
			// so this Poll sees everything that will ever be committed.
			if b := c.Poll(); len(b) > 0 {
				return b, true
			}
			return nil, false
		}
		if bo.pause() {
			continue
		}
		// Park: arm and join sleepers, then re-check. Commit stores
		// published and then loads sleepers; Close stores closed and then
		// loads our armed flag. We store both before loading published and
		// closed, so with sequentially consistent atomics either we see the
		// new state or the waker sees us armed and sends a token.
		c.parker.arm()
		r.sleepers.Add(1)
		if r.published.Load() != c.pos || r.closed.Load() {
			if c.parker.disarm() {
				r.sleepers.Add(-1)
			}
			continue
		}
		if c.parker.sleep() {
			r.sleepers.Add(-1) // timed out: we disarmed, not a waker
		}
	}
}

// Release frees the first k slots of the last batch for the producer; a
// further Release frees the slots after them. k beyond the
// unreleased rest of the batch panics. The consumer must not
// touch released slots again.
//
// The consumer's reads of the slots happen before its atomic store of
// cursor, and the producer writes a slot only after an atomic load that
// observed that store, so a slot is never overwritten while being read.
func (c *Consumer[T]) Release(k int) {
	if uint64(k) > uint64(c.batch) {
		badCount("Release", k, c.batch)
	}
	c.batch -= int64(k)
	c.pos += int64(k)
	if c.park {
		c.cursor.Store(c.pos) // a full fence: wake's load must not pass it
		c.r.prod.wake()       // one load unless the producer is parked
	} else {
		release.StoreInt64(&c.cursor, c.pos)
	}
}

// Ring returns the ring c reads (for its Len, in metrics).
func (c *Consumer[T]) Ring() *Ring[T] { return c.r }

// Closed reports whether the ring is closed and this consumer has released
// every slot committed before Close.
func (c *Consumer[T]) Closed() bool {
	return c.r.closed.Load() && c.pos == c.r.published.Load()
}
