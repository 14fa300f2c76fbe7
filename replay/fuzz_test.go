package replay

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzReader: arbitrary bytes after a valid file header never panic or hang;
// OpenCapture succeeds (the header is valid), Next ends in io.EOF, every
// Damage is a clean ErrCorrupt/ErrTorn, and SeekTime works on whatever was
// recovered.
func FuzzReader(f *testing.F) {
	var hdr [fileHdrLen]byte
	putFileHeader(hdr[:], Header{Version: Version, Format: "itch", Start: time.Unix(1, 0)})
	dir := f.TempDir()
	for i, c := range []bool{false, true} {
		recs := genRecords(uint64(10+i), 16, 3, 24)
		p := filepath.Join(dir, "seed.cap")
		if err := writeCapture(f, p, recs, WriterOptions{Format: "itch", BlockSize: 256, Compress: c}).Finish(); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		body := b[fileHdrLen:]
		f.Add(body)
		f.Add(body[:len(body)/2])
		flip := append([]byte(nil), body...)
		flip[len(flip)/3] ^= 1
		f.Add(flip)
		f.Add(append(append([]byte(nil), blockSync[:]...), body...))
	}
	f.Add([]byte{})
	f.Add(blockSync[:])
	f.Add(make([]byte, blkHdrLen))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := &memFile{b: append(hdr[:], data...)}
		for _, ro := range []bool{true, false} {
			r, dmg, err := openMem(file, OpenOptions{ReadOnly: ro, Verify: ro})
			if err != nil {
				t.Fatalf("valid header, open failed: %v", err)
			}
			n := 0
			for {
				_, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if n++; n > len(data)+1 {
					t.Fatalf("%d records from %d bytes", n, len(data))
				}
			}
			if lo, hi, ok := r.TimeRange(); ok {
				for _, tt := range []int64{lo, hi, lo/2 + hi/2} {
					if err := r.SeekTime(tt); err != nil {
						t.Fatal(err)
					}
					if _, err := r.Next(); err != nil && err != io.EOF {
						t.Fatal(err)
					}
				}
			}
			for _, d := range append(dmg, r.Damages()...) {
				if !errors.Is(d.Err, ErrCorrupt) && !errors.Is(d.Err, ErrTorn) {
					t.Fatalf("damage error %v", d.Err)
				}
				if d.Offset < fileHdrLen || d.Offset > int64(fileHdrLen+len(data)) {
					t.Fatalf("damage offset %d outside the file", d.Offset)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
		// What recovery left behind has no torn tail.
		r, dmg, err := openMem(file, OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dmg {
			if errors.Is(d.Err, ErrTorn) {
				t.Fatalf("torn again after recovery: %v", d.Err)
			}
		}
		r.Close()
	})
}

// memFile is a capture file in memory, so the fuzz targets run at memory
// speed (a real file costs a create, a write and an fsync per execution).
type memFile struct{ b []byte }

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) Truncate(size int64) error {
	m.b = m.b[:min(size, int64(len(m.b)))]
	return nil
}

func (*memFile) Sync() error  { return nil }
func (*memFile) Close() error { return nil }

// openMem is OpenCapture on a memFile, without a sidecar index.
func openMem(m *memFile, opts OpenOptions) (*Reader, []Damage, error) {
	r, err := openReader(m, int64(len(m.b)), "", opts)
	if err != nil {
		return nil, nil, err
	}
	return r, r.damage, nil
}

// FuzzBlockPayload wraps arbitrary bytes in blocks with valid checksums, so
// the record parser (and the zstd decoder) see garbage the CRCs let through:
// Next must never panic and must end in io.EOF, reporting a clean Damage for
// a block it cannot parse.
func FuzzBlockPayload(f *testing.F) {
	f.Add(uint8(0), []byte{byte(KindData), 1, 0, 2, 3, 'a', 'b', 'c'})
	f.Add(uint8(0), []byte{byte(KindData), 1, 0, 0x80, 0x01, 0x80, 0x01, 'x'})
	f.Add(uint8(0), []byte{byte(KindOpen), 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(uint8(1), []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0})
	f.Add(uint8(6), []byte{byte(KindClose), 9, 9, 0x81})
	var hdr [fileHdrLen]byte
	putFileHeader(hdr[:], Header{Version: Version, Format: "csv", Start: time.Unix(1, 0)})
	f.Fuzz(func(t *testing.T, flags uint8, raw []byte) {
		if len(raw) > 1<<16 {
			return
		}
		file := append([]byte(nil), hdr[:]...)
		for range 2 { // two blocks: the second must be read after the first fails
			bi := blockInfo{off: int64(len(file)), plen: uint32(len(raw)), rlen: uint32(len(raw)), count: 1, flags: uint32(flags) & flagMask, minRecv: 0, maxRecv: 1}
			if bi.flags&flagZstd != 0 {
				bi.rlen = uint32(len(raw)) * 2 // a wrong guess must be caught, not trusted
			}
			h := make([]byte, blkHdrLen)
			putBlockHeader(h, bi, raw)
			file = append(append(file, h...), raw...)
		}
		r, _, err := openMem(&memFile{b: file}, OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for n := 0; ; n++ {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n > 2*len(raw) || (rec.Kind != KindOpen && rec.Kind != KindData && rec.Kind != KindClose) {
				t.Fatalf("record %d: %+v", n, rec)
			}
		}
		if err := r.SeekTime(1); err != nil {
			t.Fatal(err)
		}
		for _, d := range r.Damages() {
			if !errors.Is(d.Err, ErrCorrupt) && !errors.Is(d.Err, ErrTorn) {
				t.Fatalf("damage %v", d.Err)
			}
		}
	})
}
