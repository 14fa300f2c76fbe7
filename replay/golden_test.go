package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/tickd/tickd/internal/crc32c"
	"github.com/tickd/tickd/tick"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current writer")

// goldenCapture is the file (and its sidecar index) that locks the capture
// format, version 1.
var goldenCapture = filepath.Join("testdata", "golden", "capture-v1.cap")

// goldenRecords are the golden capture's records: Open, Data and Close of
// two sources, a second Open in the middle of a block (its Recv, which it
// does not store, must not reset the deltas), Recv going back between
// sources (a negative delta), an empty Data record, and enough bytes to
// fill more than one 256-byte block.
func goldenRecords() []Record {
	const t0 = 1767364200000000000
	return []Record{
		{Kind: KindOpen, Source: 1, Name: "tcp 127.0.0.1:7000<-127.0.0.1:40000"},
		{Kind: KindData, Source: 1, Recv: t0, Bytes: []byte("ts,symbol,price,size\n1767364200000000000,AAPL,189.25,100\n")},
		{Kind: KindOpen, Source: 0x0102, Name: "tail /var/feeds/ticks.csv"},
		{Kind: KindData, Source: 0x0102, Recv: t0 + 500, Bytes: []byte("1767364200000000400,MSFT,370.1,5\n")},
		{Kind: KindData, Source: 1, Recv: t0 + 300, Bytes: nil},
		{Kind: KindData, Source: 1, Recv: t0 + 1_000_000_000, Bytes: bytes.Repeat([]byte("1767364201000000000,NVDA,140.5,10\n"), 8)},
		{Kind: KindClose, Source: 1, Recv: t0 + 1_000_000_001},
		{Kind: KindData, Source: 0x0102, Recv: t0 + 2_000_000_000, Bytes: []byte("1767364202000000000,MSFT,370.2,7\n")},
		{Kind: KindClose, Source: 0x0102, Recv: t0 + 2_000_000_000},
	}
}

func writeGolden(t *testing.T, path string, compress bool) {
	t.Helper()
	w := writeCapture(t, path, goldenRecords(), WriterOptions{Format: "csv", BlockSize: 256, Compress: compress,
		Start: time.Unix(0, 1767364199999999999)})
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}

// docBlock is a block as the package doc draws it.
type docBlock struct {
	off               int64
	plen, rlen, count uint32
	flags             uint32
	minRecv, maxRecv  int64
	records           []Record
}

// decodeCaptureDoc decodes a capture from the package doc's drawing alone
// (not with the Reader), checking every checksum and header field it
// describes, and returns its format, start and blocks.
func decodeCaptureDoc(t *testing.T, b []byte) (format string, start int64, blocks []docBlock) {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 40 || string(b[:8]) != "TICKDCAP" || le.Uint16(b[8:]) != 1 || le.Uint16(b[10:]) != 0 ||
		le.Uint32(b[36:]) != crc32c.Update(0, b[:36]) {
		t.Fatalf("file header %x is not a version 1 header as drawn", b[:min(len(b), 40)])
	}
	start = int64(le.Uint64(b[12:]))
	format = string(bytes.TrimRight(b[20:36], "\x00"))
	for off := 40; off < len(b); {
		h := b[off : off+48]
		if !bytes.Equal(h[:4], []byte{0xF1, 'T', 'K', 'B'}) || le.Uint32(h[4:]) != crc32c.Update(0, h[8:48]) || le.Uint32(h[44:]) != 0 {
			t.Fatalf("block header at %d: %x", off, h)
		}
		bl := docBlock{off: int64(off), plen: le.Uint32(h[12:]), rlen: le.Uint32(h[16:]), count: le.Uint32(h[20:]),
			flags: le.Uint32(h[24:]), minRecv: int64(le.Uint64(h[28:])), maxRecv: int64(le.Uint64(h[36:]))}
		payload := b[off+48 : off+48+int(bl.plen)]
		if le.Uint32(h[8:]) != crc32c.Update(crc32c.Update(0, h[12:48]), payload) {
			t.Fatalf("block at %d: crc does not cover header bytes 12..47 and the payload", off)
		}
		raw := payload
		if bl.flags&1 != 0 {
			dec, err := zstd.NewReader(nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, err = dec.DecodeAll(payload, nil)
			dec.Close()
			if err != nil {
				t.Fatalf("block at %d: zstd: %v", off, err)
			}
		}
		if uint32(len(raw)) != bl.rlen || (bl.flags&1 == 0 && bl.plen != bl.rlen) {
			t.Fatalf("block at %d: plen %d, rlen %d, %d raw bytes", off, bl.plen, bl.rlen, len(raw))
		}
		var prev int64
		for p := 0; p < len(raw); {
			r := Record{Kind: Kind(raw[p]), Source: le.Uint16(raw[p+1:])}
			p += 3
			switch r.Kind {
			case KindOpen:
				n, k := binary.Uvarint(raw[p:])
				r.Name = string(raw[p+k : p+k+int(n)])
				p += k + int(n)
			case KindData, KindClose:
				d, k := binary.Varint(raw[p:])
				p += k
				r.Recv = prev + d
				prev = r.Recv
				if r.Kind == KindData {
					n, k := binary.Uvarint(raw[p:])
					r.Bytes = raw[p+k : p+k+int(n)]
					p += k + int(n)
				}
			default:
				t.Fatalf("block at %d: record kind %d", off, r.Kind)
			}
			bl.records = append(bl.records, r)
		}
		blocks = append(blocks, bl)
		off += 48 + int(bl.plen)
	}
	return format, start, blocks
}

// checkBlockFields checks what the doc says of each block's count, flags
// and Recv range against its records.
func checkBlockFields(t *testing.T, blocks []docBlock, compressed bool) []Record {
	t.Helper()
	var all []Record
	for _, bl := range blocks {
		meta, timed := false, false
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, r := range bl.records {
			meta = meta || r.Kind != KindData
			if r.Kind != KindOpen {
				timed = true
				lo, hi = min(lo, r.Recv), max(hi, r.Recv)
			}
		}
		want := bl.flags & 1 // the writer stores a block zstd only when that is smaller
		if !compressed && want != 0 {
			t.Errorf("block at %d: flag 1 (zstd) in a capture written without compression", bl.off)
		}
		if meta {
			want |= 2
		}
		if timed {
			want |= 4
		}
		if bl.count != uint32(len(bl.records)) || bl.flags != want || (timed && (bl.minRecv != lo || bl.maxRecv != hi)) {
			t.Errorf("block at %d: count %d flags %d Recv %d..%d; its %d records make count %d flags %d Recv %d..%d",
				bl.off, bl.count, bl.flags, bl.minRecv, bl.maxRecv, len(bl.records), len(bl.records), want, lo, hi)
		}
		all = append(all, bl.records...)
	}
	return all
}

// TestCaptureGolden locks the capture format, version 1: the Writer writes
// the golden capture and index byte for byte; a decoder written from the
// package doc (and index.go's drawing) reads them as the records they were
// written from; and the Reader reads the golden file, so a capture recorded
// today stays playable. go test -run TestCaptureGolden -update rewrites the
// files, for a deliberate change, which then needs a new Version.
func TestCaptureGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.cap")
	writeGolden(t, path, false)
	if *update {
		for _, p := range []string{path, indexPath(path)} {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(goldenCapture+p[len(path):], b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range []string{"", ".idx"} {
		got, err1 := os.ReadFile(path + p)
		want, err2 := os.ReadFile(goldenCapture + p)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("the Writer no longer writes %s (%d bytes, golden %d): the capture format changed", goldenCapture+p, len(got), len(want))
		}
	}

	golden, err := os.ReadFile(goldenCapture)
	if err != nil {
		t.Fatal(err)
	}
	format, start, blocks := decodeCaptureDoc(t, golden)
	if format != "csv" || start != 1767364199999999999 || len(blocks) < 2 {
		t.Fatalf("format %q, start %d, %d blocks", format, start, len(blocks))
	}
	sameRecords(t, checkBlockFields(t, blocks, false), goldenRecords())
	checkIndexDoc(t, goldenCapture+".idx", golden, blocks)

	// The Reader, on a copy (it may not write to testdata), with the index and without.
	for _, idx := range []bool{true, false} {
		dir := t.TempDir()
		p := filepath.Join(dir, "g.cap")
		if err := os.WriteFile(p, golden, 0o644); err != nil {
			t.Fatal(err)
		}
		if idx {
			b, _ := os.ReadFile(goldenCapture + ".idx")
			if err := os.WriteFile(p+".idx", b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r, damage, err := OpenCapture(p, OpenOptions{ReadOnly: true, Verify: true})
		if err != nil || len(damage) != 0 {
			t.Fatalf("index %v: %v, damage %v", idx, err, damage)
		}
		if h := r.Header(); h.Version != 1 || h.Format != "csv" || h.Start.UnixNano() != start {
			t.Fatalf("header %+v", h)
		}
		sameRecords(t, readAll(t, r), goldenRecords())
		r.Close()
	}
}

// TestCaptureCompressedDoc: a compressed capture (its bytes depend on the
// zstd library, so no golden file) reads, by the doc alone, as what was
// written.
func TestCaptureCompressedDoc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "z.cap")
	writeGolden(t, path, true)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, _, blocks := decodeCaptureDoc(t, b)
	if blocks[0].flags&1 == 0 {
		t.Fatalf("the first block, %d raw bytes of text, is not stored compressed", blocks[0].rlen)
	}
	sameRecords(t, checkBlockFields(t, blocks, true), goldenRecords())
	checkIndexDoc(t, path+".idx", b, blocks)
}

// checkIndexDoc reads the sidecar index as index.go draws it and checks it
// against the capture and its blocks.
func checkIndexDoc(t *testing.T, path string, capture []byte, blocks []docBlock) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(b) < 30 || string(b[:8]) != "TICKDIDX" || le.Uint16(b[8:]) != 1 ||
		le.Uint32(b[len(b)-4:]) != crc32c.Update(0, b[:len(b)-4]) {
		t.Fatalf("index header %x", b[:min(len(b), 26)])
	}
	n := int(le.Uint32(b[10:]))
	if n != len(blocks) || len(b) != 26+40*n+4 || le.Uint32(b[14:]) != le.Uint32(capture[36:]) ||
		le.Uint64(b[18:]) != uint64(len(capture)) {
		t.Fatalf("index: %d entries, %d bytes, hcrc %x, size %d; capture %d blocks, %d bytes", n, len(b),
			le.Uint32(b[14:]), le.Uint64(b[18:]), len(blocks), len(capture))
	}
	for i, bl := range blocks {
		e := b[26+40*i:]
		got := docBlock{off: int64(le.Uint64(e)), plen: le.Uint32(e[8:]), rlen: le.Uint32(e[12:]), count: le.Uint32(e[16:]),
			flags: le.Uint32(e[20:]), minRecv: int64(le.Uint64(e[24:])), maxRecv: int64(le.Uint64(e[32:]))}
		bl.records = nil
		if !reflect.DeepEqual(got, bl) {
			t.Fatalf("index entry %d: %+v, block %+v", i, got, bl)
		}
	}
}

// TestUnknownRecordKind: a record of a kind this version does not know (in
// a block that passes its checks) is reported by its kind and offset, and
// the rest of that block is skipped, not misread; later blocks play.
func TestUnknownRecordKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.cap")
	writeGolden(t, path, false)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, _, blocks := decodeCaptureDoc(t, b)
	h := b[fileHdrLen : fileHdrLen+blkHdrLen+int(blocks[0].plen)]
	h[blkHdrLen] = 9 // the first record's kind
	sealBlockHeader(h, crc32c.Update(blockFieldsCRC(h), h[blkHdrLen:]))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, _, err := OpenCapture(path, OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rest []Record
	for _, bl := range blocks[1:] {
		rest = append(rest, bl.records...)
	}
	sameRecords(t, readAll(t, r), rest)
	d := r.Damages()
	want := "replay: corrupt block at 40: malformed record: unknown record kind 9 at record byte 0"
	if len(d) != 1 || d[0].Offset != fileHdrLen || d[0].Err.Error() != want || !errors.Is(d[0].Err, ErrCorrupt) {
		t.Fatalf("damages %v, want one at %d: %q", d, fileHdrLen, want)
	}
}

// TestUnknownBlockFlags: a block whose header is intact but carries a flag
// this version does not know is skipped whole and reported by its flags and
// offset; in the middle it is not scanned past as garbage, and at the end
// it is not taken for a torn tail and cut off the file.
func TestUnknownBlockFlags(t *testing.T) {
	for _, which := range []int{1, 2} { // the middle block, the last
		t.Run(fmt.Sprint(which), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.cap")
			writeGolden(t, path, false)
			os.Remove(path + ".idx") // as a recorder's crash leaves it: the blocks are walked
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, _, blocks := decodeCaptureDoc(t, b)
			bl := blocks[which]
			h := b[bl.off : bl.off+blkHdrLen+int64(bl.plen)]
			binary.LittleEndian.PutUint32(h[24:], bl.flags|8)
			sealBlockHeader(h, crc32c.Update(blockFieldsCRC(h), h[blkHdrLen:]))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			r, damage, err := OpenCapture(path, OpenOptions{}) // not read-only: a torn tail would be cut
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var rest []Record
			for i, o := range blocks {
				if i != which {
					rest = append(rest, o.records...)
				}
			}
			sameRecords(t, readAll(t, r), rest)
			want := fmt.Sprintf("replay: corrupt block at %d: flags %#x, unknown to capture version 1: %d bytes skipped",
				bl.off, bl.flags|8, blkHdrLen+bl.plen)
			if len(damage) != 1 || damage[0].Offset != bl.off || damage[0].Truncated || damage[0].Err.Error() != want {
				t.Fatalf("damage %v, want one at %d: %q", damage, bl.off, want)
			}
			if st, err := os.Stat(path); err != nil || st.Size() != int64(len(b)) {
				t.Fatalf("the capture was cut to %d bytes of %d (%v)", st.Size(), len(b), err)
			}
		})
	}
}

// TestPlayerRefusesUnknownFormat: a capture of a feed format this tickd
// does not decode is refused before anything plays, not after the inputs
// before it have been published.
func TestPlayerRefusesUnknownFormat(t *testing.T) {
	first, bad := filepath.Join(t.TempDir(), "a.cap"), filepath.Join(t.TempDir(), "b.cap") // two recordings
	writeGolden(t, first, false)
	writeGolden(t, bad, false)
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[20:36], "parquet\x00")
	binary.LittleEndian.PutUint32(b[36:], crc32c.Update(0, b[:36]))
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ss := &playSinks{}
	_, err = NewPlayer([]string{first, bad}, PlayerOptions{Symbols: tick.NewSymbolTable(8), Open: ss.open})
	if err == nil || !strings.Contains(err.Error(), `capture of feed format "parquet"`) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("NewPlayer: %v, want the capture of format \"parquet\" refused", err)
	}
}
