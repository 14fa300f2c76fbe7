package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tickd/tickd/internal/crc32c"
)

// Kind says what a Record is.
type Kind uint8

// Record kinds. The values are stored in capture files: never renumber.
const (
	KindOpen  Kind = 1 // a source started: Source, Name
	KindData  Kind = 2 // bytes as one read returned them: Source, Recv, Bytes
	KindClose Kind = 3 // a source ended: Source, Recv
)

func (k Kind) String() string {
	switch k {
	case KindOpen:
		return "open"
	case KindData:
		return "data"
	case KindClose:
		return "close"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Record is one entry of a capture.
type Record struct {
	Kind   Kind
	Source uint16
	Recv   int64  // ns since the Unix epoch (0 for Open, which stores none)
	Name   string // Open only
	Bytes  []byte // Data only; valid until the next Reader.Next
}

// Header is the capture file header.
type Header struct {
	Version uint16
	Format  string // feed format: "native", "csv", "json" or "itch"
	Start   time.Time
}

// Damage is a part of a capture that could not be read: a corrupt block that
// was skipped (Truncated false), or a torn tail left by a crash mid-write,
// cut off the file unless the capture was opened ReadOnly.
type Damage struct {
	Offset    int64 // file offset where the damaged bytes start
	Err       error
	Truncated bool
}

func (d Damage) String() string {
	return fmt.Sprintf("offset %d: %v (truncated %v)", d.Offset, d.Err, d.Truncated)
}

// Version is the capture format version this package writes.
const Version = 1

// Limits. They bound what a reader allocates for a block, whatever the
// (possibly corrupt) file says.
const (
	MaxData      = 16 << 20 // largest Data record payload
	MaxBlockSize = 16 << 20 // largest WriterOptions.BlockSize
	maxBlock     = 1 << 25  // largest raw or stored block body a reader accepts
)

const (
	fileMagic  = "TICKDCAP"
	fileHdrLen = 40
	formatLen  = 16 // bytes reserved for the format name

	blkHdrLen = 48

	// Flags of a block.
	flagZstd = 1 << 0 // payload is one zstd frame of the raw records
	flagMeta = 1 << 1 // block holds Open or Close records (SeekTime reads it to rebuild the open set)
	flagTime = 1 << 2 // block holds timed records: MinRecv/MaxRecv are valid
	flagMask = flagZstd | flagMeta | flagTime
)

// blockSync starts every block header: it lets a reader find the next block
// after a corrupt one. 0xF1 is not ASCII, so text feeds rarely contain it.
var blockSync = [4]byte{0xF1, 'T', 'K', 'B'}

// Errors a reader reports (wrapped, with the offset) in Damage.Err.
var (
	ErrCorrupt = errors.New("replay: corrupt block")
	ErrTorn    = errors.New("replay: torn tail")
)

// blockInfo describes one block; the sidecar index is a list of them.
type blockInfo struct {
	off     int64
	plen    uint32 // stored payload bytes after the header
	rlen    uint32 // raw record bytes
	count   uint32
	flags   uint32
	minRecv int64
	maxRecv int64
}

func (b blockInfo) end() int64 { return b.off + blkHdrLen + int64(b.plen) }

// putBlockHeader fills h[:blkHdrLen]; payload must follow h in the same
// buffer or be passed separately for the CRC.
func putBlockHeader(h []byte, bi blockInfo, payload []byte) {
	putBlockFields(h, bi)
	sealBlockHeader(h, crc32c.Update(blockFieldsCRC(h), payload))
}

// The CRC of a block covers its header fields, then its payload:
// putBlockFields writes the fields, blockFieldsCRC sums them, and
// sealBlockHeader stores the block's CRC (blockFieldsCRC continued over
// the payload) and the header's own. Split so that the payload can be
// summed while it is copied (Writer.writeBlock).
func putBlockFields(h []byte, bi blockInfo) {
	_ = h[blkHdrLen-1]
	copy(h[0:4], blockSync[:])
	binary.LittleEndian.PutUint32(h[12:], bi.plen)
	binary.LittleEndian.PutUint32(h[16:], bi.rlen)
	binary.LittleEndian.PutUint32(h[20:], bi.count)
	binary.LittleEndian.PutUint32(h[24:], bi.flags)
	binary.LittleEndian.PutUint64(h[28:], uint64(bi.minRecv))
	binary.LittleEndian.PutUint64(h[36:], uint64(bi.maxRecv))
	binary.LittleEndian.PutUint32(h[44:], 0)
}

func blockFieldsCRC(h []byte) uint32 { return crc32c.Update(0, h[12:blkHdrLen]) }

func sealBlockHeader(h []byte, crc uint32) {
	binary.LittleEndian.PutUint32(h[8:], crc)
	binary.LittleEndian.PutUint32(h[4:], crc32c.Update(0, h[8:blkHdrLen]))
}

// parseBlockHeader checks the sync marker, the header CRC and the limits.
// It does not look at the payload.
func parseBlockHeader(h []byte, off int64) (blockInfo, bool) {
	bi, ok := sealedBlockHeader(h, off)
	if !ok || bi.plen > maxBlock || bi.rlen > maxBlock || bi.flags&^flagMask != 0 ||
		(bi.flags&flagZstd == 0 && bi.plen != bi.rlen) {
		return blockInfo{}, false
	}
	return bi, true
}

// sealedBlockHeader reads a block header whose sync marker and header CRC
// hold, whatever its fields say.
func sealedBlockHeader(h []byte, off int64) (blockInfo, bool) {
	if len(h) < blkHdrLen || [4]byte(h[0:4]) != blockSync {
		return blockInfo{}, false
	}
	if binary.LittleEndian.Uint32(h[4:]) != crc32c.Update(0, h[8:blkHdrLen]) {
		return blockInfo{}, false
	}
	return blockInfo{
		off:     off,
		plen:    binary.LittleEndian.Uint32(h[12:]),
		rlen:    binary.LittleEndian.Uint32(h[16:]),
		count:   binary.LittleEndian.Uint32(h[20:]),
		flags:   binary.LittleEndian.Uint32(h[24:]),
		minRecv: int64(binary.LittleEndian.Uint64(h[28:])),
		maxRecv: int64(binary.LittleEndian.Uint64(h[36:])),
	}, true
}

// checkBlock verifies the payload CRC of a block read whole into b.
func checkBlock(b []byte) bool {
	want := binary.LittleEndian.Uint32(b[8:])
	return crc32c.Update(0, b[12:]) == want
}

func putFileHeader(h []byte, hd Header) {
	copy(h[0:8], fileMagic)
	binary.LittleEndian.PutUint16(h[8:], hd.Version)
	binary.LittleEndian.PutUint16(h[10:], 0)
	binary.LittleEndian.PutUint64(h[12:], uint64(hd.Start.UnixNano()))
	clear(h[20 : 20+formatLen])
	copy(h[20:20+formatLen], hd.Format)
	binary.LittleEndian.PutUint32(h[36:], crc32c.Update(0, h[:36]))
}

func parseFileHeader(h []byte) (Header, error) {
	if len(h) < fileHdrLen {
		return Header{}, errors.New("replay: short file header")
	}
	if string(h[0:8]) != fileMagic {
		return Header{}, errors.New("replay: not a capture file (bad magic)")
	}
	sumOK := binary.LittleEndian.Uint32(h[36:]) == crc32c.Update(0, h[:36])
	hd := Header{Version: binary.LittleEndian.Uint16(h[8:])}
	// The version before the checksum: another version's header may be
	// laid out or summed otherwise, and is no damaged version 1 header.
	if hd.Version != Version {
		hint := ""
		if !sumOK {
			hint = "; or a damaged version 1 header, whose checksum fails"
		}
		return Header{}, fmt.Errorf("replay: unsupported capture version %d (this tickd reads version %d%s)", hd.Version, Version, hint)
	}
	if !sumOK {
		return Header{}, errors.New("replay: file header checksum mismatch")
	}
	hd.Start = time.Unix(0, int64(binary.LittleEndian.Uint64(h[12:])))
	f := h[20 : 20+formatLen]
	n := 0
	for n < len(f) && f[n] != 0 {
		n++
	}
	hd.Format = string(f[:n])
	if !validFormat(hd.Format) {
		// Known before anything plays (NewPlayer reads every header), not
		// when the replay reaches the file.
		return Header{}, fmt.Errorf("replay: capture of feed format %q, which this tickd does not decode (native, csv, json, itch)", hd.Format)
	}
	return hd, nil
}

// validFormat reports whether f is a feed format a capture may hold.
func validFormat(f string) bool {
	switch f {
	case "native", "csv", "json", "itch":
		return true
	}
	return false
}
