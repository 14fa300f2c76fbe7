package feed

import (
	"errors"
	"fmt"
	"io"

	"github.com/tickd/tickd/tick"
)

// errSinkDone stops a source whose Sink is shutting down (Claim gave nil).
var errSinkDone = errors.New("feed: sink is shutting down")

// maxClaim caps the slots asked for at once.
const maxClaim = 256

// pump moves one source's bytes from reads, through its Decoder, into its
// Sink. Every read is one batch: stamp TsRecv, claim slots, decode what is
// whole, commit, keep the partial tail, publish the counters.
type pump struct {
	dec    *Decoder
	sink   Sink
	ctrs   *Counters
	reg    *Registry
	clock  func() int64
	buf    []byte // ReadBuffer bytes, reused for every read
	lo, hi int    // bytes read but not yet consumed: buf[lo:hi]
	o      *Options
	tap    Tap  // Options.Tap, or nil
	tapped bool // the tap saw data since its Open
	// socket: the stream is a connection, whose unterminated last line
	// was cut off (the peer died mid-write), so it is truncated, not a
	// line. A file's last line may lack its '\n' and is decoded.
	socket bool
}

func newPump(source string, sink Sink, o *Options) *pump {
	c := o.Stats.register(source, o.SourceID, o.Clock())
	p := &pump{
		dec:   newDecoder(source, c.id, o),
		sink:  sink,
		ctrs:  c,
		reg:   o.Stats,
		clock: o.Clock,
		buf:   make([]byte, o.ReadBuffer),
		o:     o,
		tap:   o.Tap,
	}
	if p.tap != nil {
		p.tap.Open(c.id, source)
	}
	return p
}

// space moves the pending bytes to the front and returns the free rest of
// the buffer. It is never empty: Decode consumes any frame or line longer
// than MaxFrame, and ReadBuffer > MaxFrame+1.
func (p *pump) space() []byte {
	if p.lo > 0 {
		p.hi = copy(p.buf, p.buf[p.lo:p.hi])
		p.lo = 0
	}
	return p.buf[p.hi:]
}

// ingest decodes the n bytes the last read put into space(). It returns
// errSinkDone when the sink shuts down, or the decoder's fatal error.
func (p *pump) ingest(n int) error {
	now := p.clock()
	p.ctrs.handingOn(now)
	read := p.hi
	p.hi += n
	p.dec.stats.Bytes += uint64(n)
	p.dec.SetRecvTime(now)
	err := p.drain()
	p.ctrs.handedOn(p.clock()) // its silence starts once the engine took the batch
	if p.tap != nil {
		p.tapRead(now, read, err)
	}
	p.ctrs.publish(&p.dec.stats)
	return err
}

// tapRead tells the tap of the read at buf[from:], once drain is done with
// it: a read the sink refused part of as it shut down is told only up to
// what was applied, so a replay of the capture applies what the live
// session did (the source ends there).
func (p *pump) tapRead(now int64, from int, err error) {
	to := p.hi
	if errors.Is(err, errSinkDone) {
		to = max(from, p.lo)
	}
	if to > from {
		p.tap.Data(p.ctrs.id, now, p.buf[from:to])
		p.tapped = true
	}
}

func (p *pump) drain() error {
	for p.lo < p.hi {
		pending := p.buf[p.lo:p.hi]
		if !p.dec.ready(pending) {
			return nil
		}
		slots := p.sink.Claim(p.dec.claimFor(len(pending)))
		if slots == nil {
			return errSinkDone
		}
		n, c, err := p.dec.Decode(slots, pending)
		p.sink.Commit(n)
		p.lo += c
		if err != nil {
			return err
		}
		if c == 0 {
			return nil // cannot happen with a non-empty claim; never spin
		}
	}
	return nil
}

// end flushes what is left at the end of a stream (or of a rotated file):
// an unterminated last line of a file is decoded, the rest is truncated.
func (p *pump) end() {
	if rest := p.buf[p.lo:p.hi]; len(rest) > 0 {
		var slots []tick.Event
		if p.dec.format != FormatNative && !p.socket {
			slots = p.sink.Claim(1) // room for the unterminated last line
		}
		n := p.dec.Flush(slots, rest)
		if slots != nil {
			p.sink.Commit(n)
		}
	}
	p.lo, p.hi = 0, 0
	p.ctrs.publish(&p.dec.stats)
}

// tapSkipped tells the tap, after a tail skipped the start of a file
// (Options.FromEnd), what of the skipped part a player of the capture needs
// to read the rest as the decoder does: a CSV header that named the columns
// in another order, as a header line of its own. (A native file's Symbol
// frames are not: a Hello and Symbol frames made up here would start a
// player's sequence anew, and it would report a gap the live session did
// not see.)
func (p *pump) tapSkipped() {
	if p.tap == nil || p.dec.format != FormatCSV || p.dec.cols == csvInOrder {
		return
	}
	p.tap.Data(p.ctrs.id, p.clock(), p.dec.cols.appendHeader(nil))
	p.tapped = true
}

// restart drops pending bytes and starts the decoder over (a truncated or
// new file).
func (p *pump) restart() {
	p.lo, p.hi = 0, 0
	p.dec.Reset()
	if p.tap != nil && p.tapped {
		// The decoder starts over: so must a player of the capture.
		p.tap.Close(p.ctrs.id, p.clock())
		p.tap.Open(p.ctrs.id, p.dec.source)
		p.tapped = false
	}
}

// readAll feeds r to the sink until EOF (nil), a read error, the sink
// shutting down (errSinkDone) or a fatal decode error.
func (p *pump) readAll(r io.Reader) error {
	for {
		n, err := r.Read(p.space())
		if n > 0 {
			if ierr := p.ingest(n); ierr != nil {
				return ierr
			}
		}
		if err == io.EOF {
			p.end()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// close publishes the last counters, retires them and closes the sink.
func (p *pump) close() {
	if p.tap != nil {
		p.tap.Close(p.ctrs.id, p.clock())
	}
	p.ctrs.publish(&p.dec.stats)
	p.reg.unregister(p.ctrs)
	p.sink.Close()
	p.o.ended(p.dec.source)
}

// report sends a source-level error to OnError, if set.
func (o *Options) report(source string, offset int64, seq uint64, err error) {
	if o.OnError != nil {
		o.OnError(source, offset, seq, err)
	}
}

// ReadStream decodes what r yields, read by read as a connection's bytes
// are (stamped, tapped, decoded into sink), until EOF, then closes sink.
// It is the feed path for a stream that is neither a socket nor a file (a
// pipe, a decompressor) in a program of its own; tickd itself calls it only
// in tests and benchmarks, to measure that path. It returns nil at
// EOF or when the sink shuts down, else the read error or the decoder's
// fatal error; decode errors are counted and reported as on a connection.
func ReadStream(source string, r io.Reader, sink Sink, opts Options) error {
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	p := newPump(source, sink, &o)
	defer p.close()
	if err := p.readAll(r); err != nil && !errors.Is(err, errSinkDone) {
		return fmt.Errorf("feed: %s: %w", source, err)
	}
	return nil
}
