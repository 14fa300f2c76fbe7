package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/tickd/tickd/internal/crc32c"
)

// SyncPolicy says when a Writer fsyncs: Every 0 after every block, Every > 0
// at most once per Every (checked when a block is written; Finish always
// syncs), Every < 0 never (the OS decides; Finish still syncs).
type SyncPolicy struct{ Every time.Duration }

// WriterOptions configure Create.
type WriterOptions struct {
	Format    string    // required: "native", "csv", "json" or "itch"
	Start     time.Time // default now
	BlockSize int       // raw record bytes per block before it is written; default 64 KiB, at most MaxBlockSize
	Compress  bool      // zstd per block
	Sync      SyncPolicy
	// Direct writes with O_DIRECT, bypassing the page cache (see
	// captureOut), where the system and file system allow; elsewhere the
	// Writer silently writes through the page cache.
	Direct bool
}

// DefaultBlockSize is WriterOptions.BlockSize when zero.
const DefaultBlockSize = 64 << 10

func (o *WriterOptions) setDefaults() error {
	if !validFormat(o.Format) {
		return fmt.Errorf("replay: unknown feed format %q", o.Format)
	}
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.BlockSize < 256 || o.BlockSize > MaxBlockSize {
		return fmt.Errorf("replay: block size %d outside [256, %d]", o.BlockSize, MaxBlockSize)
	}
	return nil
}

// Writer appends records to a capture file. It is not safe for concurrent
// use (the Recorder serialises its callers onto one Writer).
type Writer struct {
	f    *captureOut
	path string
	opts WriterOptions
	hcrc uint32 // file header CRC, tied into the sidecar index

	off int64 // bytes written to the file

	// buf holds the block being built: blkHdrLen bytes reserved for the
	// header, then the raw records, so an uncompressed block goes out in
	// one write without a copy.
	buf      []byte
	count    uint32
	flags    uint32
	minRecv  int64
	maxRecv  int64
	prevRecv int64 // Recv is stored as a delta from the previous one in the block

	enc  *zstd.Encoder
	comp []byte // compressed block (header + frame), reused

	blocks   []blockInfo
	lastSync time.Time
	unsynced bool  // blocks written since the last fsync
	err      error // sticky: after a write error every call returns it
}

// Create creates (or truncates) the capture at path, writes its header and
// removes a stale sidecar index path+".idx".
func Create(path string, opts WriterOptions) (*Writer, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	f, err := createCaptureOut(path, opts.Direct)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := os.Remove(indexPath(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		f.close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	w := &Writer{
		f:        f,
		path:     path,
		opts:     opts,
		buf:      make([]byte, blkHdrLen, blkHdrLen+opts.BlockSize+64),
		lastSync: time.Now(),
	}
	w.resetBlock()
	var h [fileHdrLen]byte
	putFileHeader(h[:], Header{Version: Version, Format: opts.Format, Start: opts.Start})
	w.hcrc = binary.LittleEndian.Uint32(h[36:])
	// Pushed at once, so that a file that exists has its header.
	if err := errors.Join(f.write(h[:]), f.push()); err != nil {
		f.close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	w.off = fileHdrLen
	if opts.Compress {
		// One goroutine-free encoder reused for every block.
		w.enc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("replay: %w", err)
		}
		w.comp = make([]byte, 0, blkHdrLen+opts.BlockSize+opts.BlockSize/8+64)
	}
	return w, nil
}

// Path returns the capture's file name.
func (w *Writer) Path() string { return w.path }

// Size returns the bytes the capture will have once the current block is
// written (an estimate when compressing).
func (w *Writer) Size() int64 { return w.off + int64(len(w.buf)) }

func (w *Writer) resetBlock() {
	w.buf = w.buf[:blkHdrLen]
	w.count, w.flags, w.prevRecv = 0, 0, 0
	w.minRecv, w.maxRecv = math.MaxInt64, math.MinInt64
}

// room writes the current block first if n more raw bytes would overflow it.
func (w *Writer) room(n int) error {
	if w.err != nil {
		return w.err
	}
	if w.count > 0 && len(w.buf)-blkHdrLen+n > w.opts.BlockSize {
		return w.writeBlock()
	}
	return nil
}

func (w *Writer) timed(recv int64) {
	w.flags |= flagTime
	w.minRecv = min(w.minRecv, recv)
	w.maxRecv = max(w.maxRecv, recv)
	w.buf = binary.AppendVarint(w.buf, recv-w.prevRecv)
	w.prevRecv = recv
}

func (w *Writer) done() error {
	w.count++
	if len(w.buf)-blkHdrLen >= w.opts.BlockSize {
		return w.writeBlock()
	}
	return nil
}

// Open records that a source started.
func (w *Writer) Open(source uint16, name string) error {
	if len(name) > math.MaxUint16 {
		return errors.New("replay: source name too long")
	}
	if err := w.room(3 + 3 + len(name)); err != nil {
		return err
	}
	w.flags |= flagMeta
	w.buf = append(w.buf, byte(KindOpen), byte(source), byte(source>>8))
	w.buf = binary.AppendUvarint(w.buf, uint64(len(name)))
	w.buf = append(w.buf, name...)
	return w.done()
}

// Data records bytes read from a source at recv (ns since the Unix epoch).
// It copies b.
func (w *Writer) Data(source uint16, recv int64, b []byte) error {
	if len(b) > MaxData {
		return fmt.Errorf("replay: data record of %d bytes exceeds %d", len(b), MaxData)
	}
	if err := w.room(3 + 10 + 5 + len(b)); err != nil {
		return err
	}
	w.buf = append(w.buf, byte(KindData), byte(source), byte(source>>8))
	w.timed(recv)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(b)))
	w.buf = append(w.buf, b...)
	return w.done()
}

// Close records that a source ended at recv.
func (w *Writer) Close(source uint16, recv int64) error {
	if err := w.room(3 + 10); err != nil {
		return err
	}
	w.flags |= flagMeta
	w.buf = append(w.buf, byte(KindClose), byte(source), byte(source>>8))
	w.timed(recv)
	return w.done()
}

// Flush writes the current block, if it holds records, applies the sync
// policy, and puts every byte written into the file (with Direct, some
// may wait in memory for a whole aligned block until then).
func (w *Writer) Flush() error {
	if err := w.writeBlock(); err != nil {
		return err
	}
	if err := w.f.push(); err != nil {
		w.err = fmt.Errorf("replay: %w", err)
	}
	return w.err
}

// writeBlock writes the current block, if it holds records, and applies
// the sync policy.
func (w *Writer) writeBlock() error {
	if w.err != nil {
		return w.err
	}
	if w.count == 0 {
		return nil
	}
	raw := w.buf[blkHdrLen:]
	bi := blockInfo{off: w.off, rlen: uint32(len(raw)), count: w.count, flags: w.flags}
	if w.flags&flagTime != 0 {
		bi.minRecv, bi.maxRecv = w.minRecv, w.maxRecv
	}
	out := w.buf
	if w.enc != nil {
		c := w.enc.EncodeAll(raw, w.comp[:blkHdrLen])
		if len(c) < len(w.buf) { // keep incompressible blocks raw
			out = c
			bi.flags |= flagZstd
		}
		w.comp = c[:0]
	}
	bi.plen = uint32(len(out) - blkHdrLen)
	var err error
	if dst := w.f.reserve(len(out)); dst != nil {
		// Direct: the payload's copy into the stage and its CRC are one
		// pass over it (crc32c.CopyUpdate), where a CRC and then a copy
		// would be two.
		putBlockFields(dst, bi)
		sealBlockHeader(dst, crc32c.CopyUpdate(dst[blkHdrLen:], out[blkHdrLen:], blockFieldsCRC(dst)))
		err = w.f.commit(len(out))
	} else {
		putBlockHeader(out, bi, out[blkHdrLen:])
		err = w.f.write(out)
	}
	if err != nil {
		w.err = fmt.Errorf("replay: %w", err)
		return w.err
	}
	w.off += int64(len(out))
	w.blocks = append(w.blocks, bi)
	w.resetBlock()
	w.unsynced = true
	if s := w.opts.Sync.Every; s == 0 || (s > 0 && time.Since(w.lastSync) >= s) {
		return w.sync()
	}
	return nil
}

// Sync writes the current block and fsyncs the file.
func (w *Writer) Sync() error {
	if err := w.Flush(); err != nil {
		return err
	}
	return w.sync()
}

func (w *Writer) sync() error {
	if err := w.f.sync(); err != nil {
		w.err = fmt.Errorf("replay: %w", err)
		return w.err
	}
	w.lastSync = time.Now()
	w.unsynced = false
	return nil
}

// pending reports whether records wait in the current block.
func (w *Writer) pending() bool { return w.count > 0 }

// unpushed reports whether written blocks wait in memory to be put in the
// file (by Flush, Sync or Finish), and since when.
func (w *Writer) unpushed() (time.Time, bool) { return w.f.waiting() }

// Finish writes the current block and the sidecar index path+".idx", fsyncs
// and closes the file. The Writer cannot be used afterwards.
func (w *Writer) Finish() error {
	if w.f == nil {
		return errors.New("replay: writer finished")
	}
	err := w.Flush()
	if err == nil {
		err = w.sync()
	}
	if err == nil {
		err = writeIndex(indexPath(w.path), w.hcrc, w.off, w.blocks)
	}
	if cerr := w.f.close(); err == nil && cerr != nil {
		err = cerr
	}
	if w.enc != nil {
		w.enc.Close()
	}
	w.f = nil
	if w.err == nil {
		w.err = errors.New("replay: writer finished")
	}
	return err
}
