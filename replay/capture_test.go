package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/internal/crc32c"
)

// genRecords makes n records over nsrc sources: every source opens first,
// Data with sizes 0..maxData and non-decreasing Recv, some sources close and
// reopen under a new name.
func genRecords(seed uint64, n, nsrc, maxData int) []Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	var recs []Record
	open := make([]bool, nsrc)
	recv := int64(1_700_000_000_000_000_000)
	for s := range nsrc {
		recs = append(recs, Record{Kind: KindOpen, Source: uint16(s * 7), Name: fmt.Sprintf("tcp:127.0.0.1:%d", 9000+s)})
		open[s] = true
	}
	for len(recs) < n {
		s := rng.IntN(nsrc)
		recv += int64(rng.IntN(5000))
		switch r := rng.IntN(100); {
		case r == 0 && open[s]:
			recs = append(recs, Record{Kind: KindClose, Source: uint16(s * 7), Recv: recv})
			open[s] = false
		case !open[s]:
			recs = append(recs, Record{Kind: KindOpen, Source: uint16(s * 7), Name: fmt.Sprintf("re%d-%d", s, len(recs))})
			open[s] = true
		default:
			b := feedBytes(rng, rng.IntN(maxData+1))
			recs = append(recs, Record{Kind: KindData, Source: uint16(s * 7), Recv: recv, Bytes: b})
		}
	}
	return recs
}

var syms = []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "SPY"}

// feedBytes returns n bytes of CSV-like feed text (compressible the way a
// real feed is), cut at n wherever that falls, as a TCP read would.
func feedBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+64)
	for len(b) < n {
		b = fmt.Appendf(b, "%s,%d.%02d,%d,%d\n", syms[rng.IntN(len(syms))], 100+rng.IntN(400), rng.IntN(100), 1+rng.IntN(999), rng.Int64N(1e12))
	}
	return b[:n]
}

func writeCapture(tb testing.TB, path string, recs []Record, opts WriterOptions) *Writer {
	tb.Helper()
	w, err := Create(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range recs {
		if err := putRecord(w, r); err != nil {
			tb.Fatal(err)
		}
	}
	return w
}

// putRecord writes r with the Writer method of its kind.
func putRecord(w *Writer, r Record) error {
	switch r.Kind {
	case KindOpen:
		return w.Open(r.Source, r.Name)
	case KindData:
		return w.Data(r.Source, r.Recv, r.Bytes)
	case KindClose:
		return w.Close(r.Source, r.Recv)
	}
	return fmt.Errorf("record kind %v", r.Kind)
}

func readAll(tb testing.TB, r *Reader) []Record {
	tb.Helper()
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		rec.Bytes = bytes.Clone(rec.Bytes)
		out = append(out, rec)
	}
}

func sameRecords(tb testing.TB, got, want []Record) {
	tb.Helper()
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Source != w.Source || g.Recv != w.Recv || g.Name != w.Name || !bytes.Equal(g.Bytes, w.Bytes) {
			tb.Fatalf("record %d: got %+v, want %+v", i, g, w)
		}
	}
	if len(got) != len(want) {
		tb.Fatalf("got %d records, want %d", len(got), len(want))
	}
}

func TestRoundTrip(t *testing.T) {
	start := time.Unix(1_700_000_000, 123)
	for _, tc := range []struct {
		name      string
		compress  bool
		blockSize int
		maxData   int
		n         int
	}{
		{"raw-small-blocks", false, 256, 200, 3000},
		{"zstd-small-blocks", true, 256, 200, 3000},
		{"raw-default", false, 0, 3000, 3000},
		{"zstd-default", true, 0, 3000, 3000},
		{"raw-records-bigger-than-block", false, 256, 2000, 3000},
		{"zstd-big-records", true, 4096, 40000, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.cap")
			recs := genRecords(1, tc.n, 20, tc.maxData)
			w := writeCapture(t, path, recs, WriterOptions{Format: "itch", Start: start, BlockSize: tc.blockSize, Compress: tc.compress, Sync: SyncPolicy{Every: -1}})
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			nblocks := len(w.blocks)
			zstdBlocks := 0
			for _, b := range w.blocks {
				if b.flags&flagZstd != 0 {
					zstdBlocks++
				}
			}
			if tc.compress != (zstdBlocks > 0) {
				t.Fatalf("compress=%v but %d of %d blocks zstd", tc.compress, zstdBlocks, nblocks)
			}
			if nblocks < 2 {
				t.Fatalf("only %d blocks: block boundaries not exercised", nblocks)
			}
			for _, idx := range []bool{true, false} {
				if !idx {
					if err := os.Remove(indexPath(path)); err != nil {
						t.Fatal(err)
					}
				}
				r, dmg, err := OpenCapture(path, OpenOptions{ReadOnly: true, Verify: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(dmg) != 0 {
					t.Fatalf("damage in a clean file: %v", dmg)
				}
				if len(r.blocks) != nblocks {
					t.Fatalf("index=%v: %d blocks, wrote %d", idx, len(r.blocks), nblocks)
				}
				h := r.Header()
				if h.Version != Version || h.Format != "itch" || !h.Start.Equal(start) {
					t.Fatalf("header %+v", h)
				}
				sameRecords(t, readAll(t, r), recs)
				if _, err := r.Next(); err != io.EOF {
					t.Fatalf("after end: %v", err)
				}
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestCompressionShrinks(t *testing.T) {
	dir := t.TempDir()
	recs := genRecords(2, 2000, 4, 500)
	var sizes [2]int64
	for i, c := range []bool{false, true} {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := writeCapture(t, p, recs, WriterOptions{Format: "csv", Compress: c}).Finish(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sizes[i] = st.Size()
	}
	if sizes[1] >= sizes[0]*3/4 {
		t.Fatalf("zstd %d bytes vs raw %d: not compressing", sizes[1], sizes[0])
	}
}

func TestWriterOptionsValidated(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []WriterOptions{{}, {Format: "xml"}, {Format: "itch", BlockSize: 10}, {Format: "itch", BlockSize: MaxBlockSize + 1}} {
		if _, err := Create(filepath.Join(dir, "x"), o); err == nil {
			t.Fatalf("%+v accepted", o)
		}
	}
	w, err := Create(filepath.Join(dir, "y"), WriterOptions{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Data(1, 1, make([]byte, MaxData+1)); err == nil {
		t.Fatal("oversized record accepted")
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := w.Data(1, 1, nil); err == nil {
		t.Fatal("write after Finish accepted")
	}
}

func TestOpenNotACapture(t *testing.T) {
	dir := t.TempDir()
	for name, b := range map[string][]byte{"empty": nil, "short": []byte("TICKDCAP"), "magic": bytes.Repeat([]byte{'x'}, 100)} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := OpenCapture(p, OpenOptions{}); err == nil {
			t.Fatalf("%s: opened", name)
		}
	}
	if _, _, err := OpenCapture(filepath.Join(dir, "missing"), OpenOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestOpenOtherVersion: a capture of another version is refused by its
// version, whether or not its header sums as version 1's does (a later
// version may lay its header out otherwise), with the version this reads
// and the file; a version 1 header that fails its sum is damaged; one of a
// feed format this tickd does not decode is refused by its header too.
func TestOpenOtherVersion(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v1.cap")
	w := writeCapture(t, p, genRecords(1, 20, 2, 100), WriterOptions{Format: "native"})
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	v1, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(name string, change func(h []byte)) string {
		b := bytes.Clone(v1)
		change(b)
		q := filepath.Join(dir, name)
		if err := os.WriteFile(q, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return q
	}
	version := func(v uint16, resum bool) func(h []byte) {
		return func(h []byte) {
			binary.LittleEndian.PutUint16(h[8:], v)
			if resum {
				binary.LittleEndian.PutUint32(h[36:], crc32c.Update(0, h[:36]))
			}
		}
	}
	cases := []struct {
		path, want string
	}{
		{variant("v2.cap", version(2, true)), "replay: unsupported capture version 2 (this tickd reads version 1): "},
		{variant("v2-layout.cap", version(2, false)), "replay: unsupported capture version 2 (this tickd reads version 1; or a damaged version 1 header, whose checksum fails): "},
		{variant("v0.cap", version(0, true)), "replay: unsupported capture version 0 (this tickd reads version 1): "},
		{variant("damaged.cap", func(h []byte) { h[12] ^= 1 }), "replay: file header checksum mismatch: "},
		{variant("xml.cap", func(h []byte) {
			copy(h[20:36], "xml\x00\x00\x00")
			binary.LittleEndian.PutUint32(h[36:], crc32c.Update(0, h[:36]))
		}), `replay: capture of feed format "xml", which this tickd does not decode (native, csv, json, itch): `},
	}
	for _, c := range cases {
		_, _, err := OpenCapture(c.path, OpenOptions{ReadOnly: true})
		if err == nil || err.Error() != c.want+c.path {
			t.Errorf("OpenCapture: %v, want %q", err, c.want+c.path)
		}
		if _, err := readHeader(c.path); err == nil || err.Error() != c.want+c.path {
			t.Errorf("readHeader: %v, want %q", err, c.want+c.path)
		}
	}
}

// TestReaderAfterClose: a Reader closed halfway through a capture reports
// its misuse from Next and SeekTime instead of dereferencing the closed file.
func TestReaderAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.cap")
	w := writeCapture(t, path, genRecords(1, 200, 2, 300), WriterOptions{Format: "csv", BlockSize: 1024})
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	r, _, err := OpenCapture(path, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := r.Next() // the rest of the block read before Close, then the error
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "after Close") {
			t.Fatalf("Next after Close: %v, want an error saying so", err)
		}
		break
	}
	if err := r.SeekTime(0); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Fatalf("SeekTime after Close: %v, want an error saying so", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
