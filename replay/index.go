package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/tickd/tickd/internal/crc32c"
)

// Sidecar index layout (PATH.idx), little endian:
//
//	+----------+---------+-------+-------+------------+----------------+---------------+--------+
//	| TICKDIDX | version | count | hcrc  | capSize    | entry[count]   | ...           | crc32c |
//	| 8 bytes  | u16     | u32   | u32   | u64        | 40 bytes each  |               | u32    |
//	+----------+---------+-------+-------+------------+----------------+---------------+--------+
//	entry: off u64 | plen u32 | rlen u32 | count u32 | flags u32 | minRecv i64 | maxRecv i64
//
// hcrc is the capture's file header CRC and capSize its length when the index
// was written: an index whose capture changed since is stale and ignored.
const (
	idxMagic    = "TICKDIDX"
	idxHdrLen   = 26
	idxEntryLen = 40
)

func indexPath(path string) string { return path + ".idx" }

func writeIndex(path string, hcrc uint32, size int64, blocks []blockInfo) error {
	b := make([]byte, idxHdrLen, idxHdrLen+len(blocks)*idxEntryLen+4)
	copy(b, idxMagic)
	binary.LittleEndian.PutUint16(b[8:], Version)
	binary.LittleEndian.PutUint32(b[10:], uint32(len(blocks)))
	binary.LittleEndian.PutUint32(b[14:], hcrc)
	binary.LittleEndian.PutUint64(b[18:], uint64(size))
	for _, bi := range blocks {
		b = binary.LittleEndian.AppendUint64(b, uint64(bi.off))
		b = binary.LittleEndian.AppendUint32(b, bi.plen)
		b = binary.LittleEndian.AppendUint32(b, bi.rlen)
		b = binary.LittleEndian.AppendUint32(b, bi.count)
		b = binary.LittleEndian.AppendUint32(b, bi.flags)
		b = binary.LittleEndian.AppendUint64(b, uint64(bi.minRecv))
		b = binary.LittleEndian.AppendUint64(b, uint64(bi.maxRecv))
	}
	b = binary.LittleEndian.AppendUint32(b, crc32c.Update(0, b))
	// Write then rename, so a reader never sees half an index.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("replay: index: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replay: index: %w", err)
	}
	return nil
}

var errStaleIndex = errors.New("replay: stale index")

// readIndex loads the sidecar index of a capture with file header CRC hcrc
// and length size, or reports why it cannot be used.
func readIndex(path string, hcrc uint32, size int64) ([]blockInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < idxHdrLen+4 || string(b[:8]) != idxMagic ||
		binary.LittleEndian.Uint16(b[8:]) != Version {
		return nil, errStaleIndex
	}
	n := int(binary.LittleEndian.Uint32(b[10:]))
	if len(b) != idxHdrLen+n*idxEntryLen+4 ||
		binary.LittleEndian.Uint32(b[len(b)-4:]) != crc32c.Update(0, b[:len(b)-4]) ||
		binary.LittleEndian.Uint32(b[14:]) != hcrc ||
		int64(binary.LittleEndian.Uint64(b[18:])) != size {
		return nil, errStaleIndex
	}
	blocks := make([]blockInfo, n)
	prevEnd := int64(fileHdrLen)
	for i := range blocks {
		e := b[idxHdrLen+i*idxEntryLen:]
		bi := blockInfo{
			off:     int64(binary.LittleEndian.Uint64(e)),
			plen:    binary.LittleEndian.Uint32(e[8:]),
			rlen:    binary.LittleEndian.Uint32(e[12:]),
			count:   binary.LittleEndian.Uint32(e[16:]),
			flags:   binary.LittleEndian.Uint32(e[20:]),
			minRecv: int64(binary.LittleEndian.Uint64(e[24:])),
			maxRecv: int64(binary.LittleEndian.Uint64(e[32:])),
		}
		if bi.off < prevEnd || bi.plen > maxBlock || bi.rlen > maxBlock || bi.end() > size {
			return nil, errStaleIndex
		}
		prevEnd = bi.end()
		blocks[i] = bi
	}
	return blocks, nil
}
