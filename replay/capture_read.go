package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/klauspost/compress/zstd"
)

// OpenOptions configure OpenCapture.
type OpenOptions struct {
	// ReadOnly opens the file read-only: a torn tail is reported but not
	// cut off (it is still not read).
	ReadOnly bool
	// Verify checks every block's CRC while opening, so every corrupt block
	// is in the returned Damage list. Without it only the last block is
	// checked at open (that finds a torn tail); a corrupt block in the middle
	// is found, skipped and added to Damages when Next reaches it.
	Verify bool
}

// captureFile is what a Reader needs of its file: an *os.File, or the
// in-memory file the fuzz tests use so that they run at memory speed.
type captureFile interface {
	io.ReaderAt
	io.Closer
	Truncate(size int64) error
	Sync() error
}

// Reader reads a capture. It is not safe for concurrent use.
type Reader struct {
	f      captureFile
	hdr    Header
	hcrc   uint32 // the file header's CRC, which the sidecar index names
	blocks []blockInfo
	pmax   []int64 // pmax[i]: max Recv over blocks[:i+1], for SeekTime

	bi   int    // next block to load
	raw  []byte // records of the current block
	pos  int
	prev int64 // previous Recv in the current block (Recv is delta coded)

	buf  []byte // stored block, reused
	sbuf []byte // resync's read buffer, reused
	dbuf []byte // decompressed block, reused
	dec  *zstd.Decoder

	pending []Record // Open records SeekTime re-delivers
	pi      int

	damage   []Damage
	reported map[int64]bool
}

// OpenCapture opens the capture at path. It finds the blocks from the
// sidecar index path+".idx" when that is current, else by walking the block
// headers (payloads are skipped). A torn or corrupt tail is reported and cut
// off (unless ReadOnly); a corrupt region in the middle is reported and
// skipped. The error is non-nil only when the file cannot be read at all
// (missing, not a capture, bad file header, I/O error).
func OpenCapture(path string, opts OpenOptions) (*Reader, []Damage, error) {
	flag := os.O_RDWR
	if opts.ReadOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("replay: %w", err)
	}
	r, err := openReader(f, st.Size(), indexPath(path), opts)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s", err, path) // as readHeader: which of a replay's files
	}
	return r, slices.Clone(r.damage), nil
}

// readHeader reads the file header of the capture at path.
func readHeader(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	var h [fileHdrLen]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return Header{}, fmt.Errorf("replay: %s: short file header", path)
	}
	hdr, err := parseFileHeader(h[:])
	if err != nil {
		return Header{}, fmt.Errorf("%w: %s", err, path)
	}
	return hdr, nil
}

// openReader reads the header and finds the blocks of the size bytes of f,
// from the sidecar index idx when that is current (idx "": walk the blocks).
func openReader(f captureFile, size int64, idx string, opts OpenOptions) (*Reader, error) {
	var h [fileHdrLen]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("replay: short file header")
		}
		return nil, fmt.Errorf("replay: %w", err)
	}
	hdr, err := parseFileHeader(h[:])
	if err != nil {
		return nil, err
	}
	hcrc := binary.LittleEndian.Uint32(h[36:])
	r := &Reader{f: f, hdr: hdr, hcrc: hcrc, reported: map[int64]bool{}}

	tail := int64(-1)
	var tailErr error
	err = errNoIndex
	if idx != "" {
		r.blocks, err = readIndex(idx, hcrc, size)
	}
	if err != nil {
		if tail, tailErr, err = r.walk(size); err != nil {
			return nil, err
		}
	}
	if opts.Verify {
		for i := 0; i < len(r.blocks)-1; i++ {
			if _, err := r.load(i); errors.Is(err, ErrCorrupt) {
				r.addDamage(Damage{Offset: r.blocks[i].off, Err: err})
			} else if err != nil {
				return nil, err
			}
		}
	}
	// The last block is the one a crash tears: check its payload, and the
	// one before it when that fails too, so that recovery leaves nothing
	// unreadable at the end (a second open finds no torn tail).
	for n := len(r.blocks); n > 0; n-- {
		_, err := r.load(n - 1)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		off := r.blocks[n-1].off
		if tailErr == nil {
			tailErr = fmt.Errorf("%w: last block at %d fails its check (%v)", ErrTorn, off, err)
		} else {
			tailErr = fmt.Errorf("%w; so does the block at %d before it (%v)", tailErr, off, err)
		}
		tail = off
		// Bad bytes skipped before it go with it (see walk).
		if from := r.blockEnd(n - 2); from < off {
			r.dropDamage(from)
			tail, tailErr = from, fmt.Errorf("%w (after %d bad bytes from %d)", tailErr, off-from, from)
		}
		r.dropDamage(tail)
		r.blocks = r.blocks[:n-1]
	}
	if tail >= 0 {
		d := Damage{Offset: tail, Err: tailErr}
		if !opts.ReadOnly {
			if err := f.Truncate(tail); err != nil {
				return nil, fmt.Errorf("replay: truncating torn tail: %w", err)
			}
			if err := f.Sync(); err != nil {
				return nil, fmt.Errorf("replay: %w", err)
			}
			d.Truncated = true
		}
		r.damage = append(r.damage, d)
	}
	r.pmax = make([]int64, len(r.blocks))
	m := int64(math.MinInt64)
	for i, bi := range r.blocks {
		if bi.flags&flagTime != 0 {
			m = max(m, bi.maxRecv)
		}
		r.pmax[i] = m
	}
	return r, nil
}

// walk finds the blocks from their headers alone. It returns where a torn
// tail starts (-1 if none) and why. Bad bytes skipped between the last good
// block and a torn one belong to the tail: cutting only from the torn block
// would leave them to be found torn again on the next open.
func (r *Reader) walk(size int64) (tail int64, tailErr error, err error) {
	var h [blkHdrLen]byte
	off := int64(fileHdrLen)
	bad := int64(-1) // start of the bad bytes skipped since the last good block
	torn := func(why error) (int64, error, error) {
		if bad < 0 {
			return off, why, nil
		}
		r.dropDamage(bad)
		return bad, fmt.Errorf("%w (after %d bad bytes from %d)", why, off-bad, bad), nil
	}
	for off < size {
		n, err := r.f.ReadAt(h[:], off)
		if n < blkHdrLen {
			if err != nil && !errors.Is(err, io.EOF) {
				return 0, nil, fmt.Errorf("replay: %w", err)
			}
			return torn(fmt.Errorf("%w: %d bytes of a block header at %d", ErrTorn, n, off))
		}
		bi, ok := parseBlockHeader(h[:], off)
		if !ok {
			if end, skip := r.skipUnknownFlags(h[:], off, size); skip {
				off, bad = end, -1
				continue
			}
			next, err := r.resync(off+1, size)
			if err != nil {
				return 0, nil, err
			}
			if next < 0 {
				return torn(fmt.Errorf("%w: bad block header at %d and no block after it", ErrTorn, off))
			}
			r.addDamage(Damage{Offset: off, Err: fmt.Errorf("%w: bad block header at %d, %d bytes skipped", ErrCorrupt, off, next-off)})
			if bad < 0 {
				bad = off
			}
			off = next
			continue
		}
		if bi.end() > size {
			return torn(fmt.Errorf("%w: block at %d needs %d bytes, file ends at %d", ErrTorn, off, bi.end()-off, size))
		}
		r.blocks = append(r.blocks, bi)
		off = bi.end()
		bad = -1
	}
	return -1, nil, nil
}

// skipUnknownFlags reports whether the header h at off, which failed
// parseBlockHeader, is intact (its CRC holds) but carries flags this
// version does not know, and so belongs to a whole block of a feature it
// lacks: that block is reported, and skipped by its length, not resynced
// past as garbage nor, at the end, cut off as a torn tail. It returns
// where the block ends.
func (r *Reader) skipUnknownFlags(h []byte, off, size int64) (end int64, skip bool) {
	bi, sealed := sealedBlockHeader(h, off)
	if !sealed || bi.flags&^flagMask == 0 || bi.end() > size {
		return 0, false
	}
	r.addDamage(Damage{Offset: off, Err: fmt.Errorf("%w at %d: flags %#x, unknown to capture version %d: %d bytes skipped",
		ErrCorrupt, off, bi.flags, Version, bi.end()-off)})
	return bi.end(), true
}

// resync returns the offset of the next valid block header at or after
// from, or -1.
func (r *Reader) resync(from, size int64) (int64, error) {
	const chunk = 1 << 20
	// No bigger than what is left (damage is often near the end), and
	// longer than a sync marker so that every full read moves on.
	if n := max(min(chunk, size-from), 4096); int64(cap(r.sbuf)) < n {
		r.sbuf = make([]byte, n)
	}
	buf := r.sbuf[:cap(r.sbuf)]
	var h [blkHdrLen]byte
	for from < size {
		n, err := r.f.ReadAt(buf, from)
		if n == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return 0, fmt.Errorf("replay: %w", err)
			}
			return -1, nil
		}
		b := buf[:n]
		for i := 0; ; {
			j := bytes.Index(b[i:], blockSync[:])
			if j < 0 {
				break
			}
			p := from + int64(i+j)
			if m, _ := r.f.ReadAt(h[:], p); m == blkHdrLen {
				if _, ok := parseBlockHeader(h[:], p); ok {
					return p, nil
				}
			}
			i += j + 1
		}
		if int64(n) < int64(len(buf)) {
			return -1, nil
		}
		from += int64(n) - int64(len(blockSync)) + 1 // a marker may straddle chunks
	}
	return -1, nil
}

// blockEnd is where block i ends: the file header's end for i < 0.
func (r *Reader) blockEnd(i int) int64 {
	if i < 0 {
		return fileHdrLen
	}
	return r.blocks[i].end()
}

// dropDamage forgets the damage reports from off on (walk folds them into
// the torn tail).
func (r *Reader) dropDamage(off int64) {
	for len(r.damage) > 0 && r.damage[len(r.damage)-1].Offset >= off {
		delete(r.reported, r.damage[len(r.damage)-1].Offset)
		r.damage = r.damage[:len(r.damage)-1]
	}
}

func (r *Reader) addDamage(d Damage) {
	if r.reported[d.Offset] {
		return
	}
	r.reported[d.Offset] = true
	r.damage = append(r.damage, d)
}

// load reads, checks and decompresses block i. The error wraps ErrCorrupt
// when the block fails its checks; the caller reports it.
func (r *Reader) load(i int) ([]byte, error) {
	if r.f == nil {
		return nil, errReaderClosed
	}
	bi := r.blocks[i]
	n := int(bi.end() - bi.off)
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := r.f.ReadAt(b, bi.off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: block at %d cut short", ErrCorrupt, bi.off)
		}
		return nil, fmt.Errorf("replay: %w", err)
	}
	corrupt := func(why string) ([]byte, error) {
		return nil, fmt.Errorf("%w at %d: %s", ErrCorrupt, bi.off, why)
	}
	if hb, ok := parseBlockHeader(b, bi.off); !ok || hb != bi {
		return corrupt("block header changed or invalid")
	}
	if !checkBlock(b) {
		return corrupt("CRC mismatch")
	}
	p := b[blkHdrLen:]
	if bi.flags&flagZstd == 0 {
		return p, nil
	}
	if r.dec == nil {
		// Goroutine-free decoder, reused for every block; its output is
		// capped to the block's declared raw length.
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(maxBlock), zstd.WithDecodeAllCapLimit(true))
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		r.dec = d
	}
	if cap(r.dbuf) < int(bi.rlen) {
		r.dbuf = make([]byte, 0, bi.rlen)
	}
	out, err := r.dec.DecodeAll(p, r.dbuf[:0:bi.rlen])
	if err != nil || len(out) != int(bi.rlen) {
		return corrupt(fmt.Sprintf("zstd: %v (%d of %d bytes)", err, len(out), bi.rlen))
	}
	return out, nil
}

var (
	errRecord  = errors.New("malformed record")
	errNoIndex = errors.New("no index")
)

// parse decodes the record at r.pos.
func (r *Reader) parse() (Record, error) {
	b := r.raw[r.pos:]
	if len(b) < 3 {
		return Record{}, errRecord
	}
	rec := Record{Kind: Kind(b[0]), Source: uint16(b[1]) | uint16(b[2])<<8}
	p := 3
	switch rec.Kind {
	case KindOpen:
		n, k := binary.Uvarint(b[p:])
		if k <= 0 || n > uint64(len(b)-p-k) {
			return Record{}, errRecord
		}
		p += k
		rec.Name = string(b[p : p+int(n)])
		p += int(n)
	case KindData, KindClose:
		d, k := binary.Varint(b[p:])
		if k <= 0 {
			return Record{}, errRecord
		}
		p += k
		rec.Recv = r.prev + d
		if rec.Kind == KindData {
			n, k := binary.Uvarint(b[p:])
			if k <= 0 || n > uint64(len(b)-p-k) {
				return Record{}, errRecord
			}
			p += k
			rec.Bytes = b[p : p+int(n) : p+int(n)]
			p += int(n)
		}
		r.prev = rec.Recv
	default:
		return Record{}, fmt.Errorf("%w: unknown record kind %d", errRecord, b[0])
	}
	r.pos += p
	return rec, nil
}

// nextBlock loads the next readable block into r.raw; io.EOF after the last.
func (r *Reader) nextBlock() error {
	for r.bi < len(r.blocks) {
		i := r.bi
		r.bi++
		raw, err := r.load(i)
		if errors.Is(err, ErrCorrupt) {
			r.addDamage(Damage{Offset: r.blocks[i].off, Err: err})
			continue // nothing else is lost
		}
		if err != nil {
			return err
		}
		r.raw, r.pos, r.prev = raw, 0, 0
		return nil
	}
	r.raw, r.pos = nil, 0
	return io.EOF
}

// Next returns the next record, io.EOF after the last. Corrupt blocks are
// skipped and added to Damages.
func (r *Reader) Next() (Record, error) {
	// Fast path: a Data record with a delta and a length of up to two
	// varint bytes each (the common case), decoded inline.
	if b := r.raw[r.pos:]; r.pi >= len(r.pending) && len(b) >= 7 && b[0] == byte(KindData) {
		p, d := 3, uint64(b[3])
		if d >= 0x80 {
			if b[4] >= 0x80 {
				goto slow
			}
			d, p = d&0x7f|uint64(b[4])<<7, 4
		}
		n := uint64(b[p+1])
		p += 2
		if n >= 0x80 {
			if b[p] >= 0x80 {
				goto slow
			}
			n, p = n&0x7f|uint64(b[p])<<7, p+1
		}
		if n <= uint64(len(b)-p) {
			recv := r.prev + (int64(d>>1) ^ -int64(d&1))
			r.prev = recv
			r.pos += p + int(n)
			return Record{Kind: KindData, Source: uint16(b[1]) | uint16(b[2])<<8, Recv: recv, Bytes: b[p : p+int(n) : p+int(n)]}, nil
		}
	}
slow:
	for {
		if r.pi < len(r.pending) {
			r.pi++
			return r.pending[r.pi-1], nil
		}
		if r.pos < len(r.raw) {
			rec, err := r.parse()
			if err == nil {
				return rec, nil
			}
			r.addDamage(Damage{Offset: r.blocks[r.bi-1].off,
				Err: fmt.Errorf("%w at %d: %v at record byte %d", ErrCorrupt, r.blocks[r.bi-1].off, err, r.pos)})
			r.raw, r.pos = nil, 0
			continue
		}
		if err := r.nextBlock(); err != nil {
			return Record{}, err
		}
	}
}

// Header returns the capture's file header.
func (r *Reader) Header() Header { return r.hdr }

// Damages returns every damage found so far: at open and by Next/SeekTime.
func (r *Reader) Damages() []Damage { return r.damage }

// TimeRange returns the smallest and largest Recv in the capture's readable
// blocks (ok false if it holds no timed record), from the index alone.
func (r *Reader) TimeRange() (first, last int64, ok bool) {
	first, last = math.MaxInt64, math.MinInt64
	for _, bi := range r.blocks {
		if bi.flags&flagTime != 0 {
			first, last, ok = min(first, bi.minRecv), max(last, bi.maxRecv), true
		}
	}
	return first, last, ok
}

// SeekTime positions the reader so that Next returns the first record (in
// file order) of kind Data or Close with Recv >= recv. Before it, Next
// re-delivers the Open records of the sources open at that point (opened and
// not closed), in the order they were opened, so decoders can be set up.
// It finds the block from the index without scanning and reads only that
// block and the earlier blocks holding Open/Close records.
func (r *Reader) SeekTime(recv int64) error {
	r.pending, r.pi = r.pending[:0], 0
	r.raw, r.pos = nil, 0
	i := sort.Search(len(r.pmax), func(i int) bool { return r.pmax[i] >= recv })
	var open []Record
	apply := func(rec Record) {
		switch rec.Kind {
		case KindOpen:
			for j := range open {
				if open[j].Source == rec.Source {
					open = append(open[:j], open[j+1:]...)
					break
				}
			}
			open = append(open, rec)
		case KindClose:
			for j := range open {
				if open[j].Source == rec.Source {
					open = append(open[:j], open[j+1:]...)
					break
				}
			}
		}
	}
	scan := func(j int, stopAt bool) (bool, error) {
		raw, err := r.load(j)
		if errors.Is(err, ErrCorrupt) {
			r.addDamage(Damage{Offset: r.blocks[j].off, Err: err})
			return false, nil
		}
		if err != nil {
			return false, err
		}
		r.raw, r.pos, r.prev = raw, 0, 0
		for r.pos < len(r.raw) {
			pos, prev := r.pos, r.prev
			rec, err := r.parse()
			if err != nil {
				r.addDamage(Damage{Offset: r.blocks[j].off,
					Err: fmt.Errorf("%w at %d: %v at record byte %d", ErrCorrupt, r.blocks[j].off, err, pos)})
				break
			}
			if stopAt && rec.Kind != KindOpen && rec.Recv >= recv {
				r.pos, r.prev = pos, prev
				return true, nil
			}
			apply(rec)
		}
		r.raw, r.pos = nil, 0
		return false, nil
	}
	for j := 0; j < i; j++ {
		if r.blocks[j].flags&flagMeta != 0 {
			if _, err := scan(j, false); err != nil {
				return err
			}
		}
	}
	for ; i < len(r.blocks); i++ {
		found, err := scan(i, true)
		if err != nil {
			return err
		}
		if found {
			r.bi = i + 1
			r.pending = append(r.pending, open...)
			return nil
		}
	}
	r.bi = len(r.blocks)
	return nil
}

// errReaderClosed is what Next and SeekTime return once they need a block
// after Close.
var errReaderClosed = errors.New("replay: Reader used after Close")

// Close closes the file. Next and SeekTime fail after it (Next may still
// return the rest of the block it had read); a second Close does nothing.
func (r *Reader) Close() error {
	if r.dec != nil {
		r.dec.Close()
		r.dec = nil
	}
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}
