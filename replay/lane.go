package replay

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/tickd/tickd/internal/release"
)

// A lane is one source's queue of records between its feed goroutine (the
// only producer) and the recorder's writer (the only consumer): a linked
// list of chunks. The producer appends each record to its current chunk and
// publishes it with a release store of the chunk's committed length; when a
// record does not fit, it links a fresh chunk behind the full one and seals
// the full one. The writer reads each chunk up to its committed length and,
// once the chunk is sealed and read to its end, follows the link and gives
// the chunk back to the pool. No lock and no atomic read-modify-write per
// record: a copy and one plain store.
type lane struct {
	source uint16

	cur *chunk // producer: the chunk records go to

	read *chunk // writer: the chunk being read; nil once its last chunk (sealed with no next) is read to its end
	off  int    // writer: bytes of read already written
}

// chunk is a piece of a lane. Records never straddle chunks.
type chunk struct {
	buf       []byte
	n         int                   // producer's length
	committed atomic.Int64          // bytes the writer may read (release-stored by the producer)
	sealed    atomic.Bool           // the producer is done with it: committed is final
	next      atomic.Pointer[chunk] // the chunk after it, set before sealed (nil: the lane ended)
}

// reset readies a chunk the writer has given back for another lane.
func (c *chunk) reset() {
	c.n = 0
	c.committed.Store(0)
	c.sealed.Store(false)
	c.next.Store(nil)
}

// append writes one record (header, then a and s) into c, which has room,
// and publishes it to the writer.
func (c *chunk) append(kind Kind, source uint16, recv int64, a []byte, s string) {
	n := recHdr + len(a) + len(s)
	b := c.buf[c.n : c.n+n]
	b[0] = byte(kind)
	binary.LittleEndian.PutUint16(b[1:], source)
	binary.LittleEndian.PutUint64(b[3:], uint64(recv))
	binary.LittleEndian.PutUint32(b[11:], uint32(len(a)+len(s)))
	copy(b[recHdr:], a)
	copy(b[recHdr+len(a):], s)
	c.n += n
	release.StoreInt64(&c.committed, int64(c.n))
}

// room reports whether a record of n bytes fits in c.
func (c *chunk) room(n int) bool { return c.n+n <= len(c.buf) }

// unread returns the committed bytes of the writer's chunk not yet written,
// whether the chunk is finished (sealed: nothing more will come), and marks
// them written.
func (l *lane) unread() (b []byte, sealed bool) {
	c := l.read
	sealed = c.sealed.Load() // before committed: once sealed, committed is final
	end := int(c.committed.Load())
	b = c.buf[l.off:end]
	l.off = end
	return b, sealed
}

// advance moves the writer to the chunk after its sealed, fully written
// one and returns the finished chunk, or nil (and stays) if the lane ended
// there.
func (l *lane) advance() *chunk {
	done := l.read
	next := done.next.Load()
	if next == nil {
		return nil
	}
	l.read, l.off = next, 0
	return done
}
