package replay

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// finished writes recs to a fresh capture and returns its path, bytes and
// block list.
func finished(tb testing.TB, recs []Record, opts WriterOptions) (string, []byte, []blockInfo) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "c.cap")
	w := writeCapture(tb, path, recs, opts)
	if err := w.Finish(); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return path, b, w.blocks
}

// recordsBefore returns how many records blocks[:n] hold.
func recordsBefore(blocks []blockInfo, n int) int {
	c := 0
	for _, b := range blocks[:n] {
		c += int(b.count)
	}
	return c
}

// TestTornTail kills the writer mid-block: for every offset within the last
// block the file is cut there; OpenCapture must recover every complete block
// before it and report one Damage at the block start.
func TestTornTail(t *testing.T) {
	for _, compress := range []bool{false, true} {
		recs := genRecords(3, 400, 5, 120)
		orig, file, blocks := finished(t, recs, WriterOptions{Format: "csv", BlockSize: 1024, Compress: compress})
		idx, err := os.ReadFile(indexPath(orig))
		if err != nil {
			t.Fatal(err)
		}
		last := blocks[len(blocks)-1]
		if last.end() != int64(len(file)) || len(blocks) < 3 {
			t.Fatalf("last block ends at %d, file %d, %d blocks", last.end(), len(file), len(blocks))
		}
		want := recs[:recordsBefore(blocks, len(blocks)-1)]
		dir := t.TempDir()
		for cut := last.off; cut < last.end(); cut++ {
			for _, ro := range []bool{false, true} {
				p := filepath.Join(dir, "torn.cap")
				if err := os.WriteFile(p, file[:cut], 0o644); err != nil {
					t.Fatal(err)
				}
				// Half the time the old index is there too: stale, it must
				// be ignored.
				os.Remove(indexPath(p))
				if cut%2 == 0 {
					if err := os.WriteFile(indexPath(p), idx, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				r, dmg, err := OpenCapture(p, OpenOptions{ReadOnly: ro})
				if err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				if cut == last.off {
					if len(dmg) != 0 {
						t.Fatalf("cut at a block boundary: damage %v", dmg)
					}
				} else {
					if len(dmg) != 1 || dmg[0].Offset != last.off || dmg[0].Truncated == ro || !errors.Is(dmg[0].Err, ErrTorn) {
						t.Fatalf("cut %d (block at %d, ro %v): damage %v", cut, last.off, ro, dmg)
					}
				}
				sameRecords(t, readAll(t, r), want)
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if wantSize := map[bool]int64{false: last.off, true: cut}[ro]; st.Size() != wantSize {
					t.Fatalf("cut %d ro %v: file is %d bytes, want %d", cut, ro, st.Size(), wantSize)
				}
			}
		}
	}
}

// TestTornTailZeroed: the file has its full length but the last block's
// bytes never reached the disk (zeros), as after a power cut.
func TestTornTailZeroed(t *testing.T) {
	recs := genRecords(4, 300, 3, 100)
	path, file, blocks := finished(t, recs, WriterOptions{Format: "csv", BlockSize: 1024})
	last := blocks[len(blocks)-1]
	for _, from := range []int64{last.off, last.off + blkHdrLen, last.end() - 1} {
		b := append([]byte(nil), file...)
		clear(b[from:])
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, dmg, err := OpenCapture(path, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(dmg) != 1 || dmg[0].Offset != last.off || !dmg[0].Truncated {
			t.Fatalf("zeroed from %d: damage %v", from, dmg)
		}
		sameRecords(t, readAll(t, r), recs[:recordsBefore(blocks, len(blocks)-1)])
		r.Close()
	}
}

// TestCorruptMiddle flips one byte of a middle block (header or payload):
// the block is skipped and reported, every block after it is read.
func TestCorruptMiddle(t *testing.T) {
	recs := genRecords(5, 600, 6, 100)
	path, file, blocks := finished(t, recs, WriterOptions{Format: "json", BlockSize: 1024, Compress: true})
	idx, err := os.ReadFile(indexPath(path))
	if err != nil {
		t.Fatal(err)
	}
	k := len(blocks) / 2
	bad := blocks[k]
	want := append(append([]Record(nil), recs[:recordsBefore(blocks, k)]...), recs[recordsBefore(blocks, k+1):]...)
	for _, at := range []int64{0, 2, 5, 9, 13, 30, blkHdrLen, blkHdrLen + int64(bad.plen)/2, int64(bad.plen) + blkHdrLen - 1} {
		for _, withIdx := range []bool{true, false} {
			for _, verify := range []bool{true, false} {
				b := append([]byte(nil), file...)
				b[bad.off+at] ^= 0x40
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				os.Remove(indexPath(path))
				if withIdx {
					if err := os.WriteFile(indexPath(path), idx, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				r, dmg, err := OpenCapture(path, OpenOptions{Verify: verify})
				if err != nil {
					t.Fatal(err)
				}
				// A bad header is found by the header walk at open; a bad
				// payload at open only with Verify.
				atOpen := verify || (!withIdx && at < blkHdrLen)
				if atOpen != (len(dmg) == 1) || len(dmg) > 1 {
					t.Fatalf("byte %d idx %v verify %v: open damage %v", at, withIdx, verify, dmg)
				}
				sameRecords(t, readAll(t, r), want)
				d := r.Damages()
				if len(d) != 1 || d[0].Offset != bad.off || d[0].Truncated || !errors.Is(d[0].Err, ErrCorrupt) {
					t.Fatalf("byte %d idx %v verify %v: damages %v, want one at %d", at, withIdx, verify, d, bad.off)
				}
				r.Close()
				if st, _ := os.Stat(path); st.Size() != int64(len(file)) {
					t.Fatal("middle damage changed the file")
				}
			}
		}
	}
}

// TestGarbageBetweenBlocks: bytes inserted between two blocks (with a fake
// sync marker inside) are skipped by the resync.
func TestGarbageBetweenBlocks(t *testing.T) {
	recs := genRecords(6, 300, 3, 100)
	path, file, blocks := finished(t, recs, WriterOptions{Format: "csv", BlockSize: 1024})
	k := len(blocks) / 2
	junk := append([]byte("junk"), blockSync[:]...)
	junk = append(junk, make([]byte, 100)...)
	b := append(append(append([]byte(nil), file[:blocks[k].off]...), junk...), file[blocks[k].off:]...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, dmg, err := OpenCapture(path, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dmg) != 1 || dmg[0].Offset != blocks[k].off || dmg[0].Truncated {
		t.Fatalf("damage %v", dmg)
	}
	sameRecords(t, readAll(t, r), recs)
	r.Close()
}

// expectSeek computes what Next returns after SeekTime(t): the Opens of the
// sources open before the target record, then the records from it on.
func expectSeek(recs []Record, t int64) []Record {
	k := len(recs)
	for i, r := range recs {
		if r.Kind != KindOpen && r.Recv >= t {
			k = i
			break
		}
	}
	if k == len(recs) {
		return nil
	}
	var open []Record
	for _, r := range recs[:k] {
		if r.Kind == KindData {
			continue
		}
		for j := range open {
			if open[j].Source == r.Source {
				open = append(open[:j], open[j+1:]...)
				break
			}
		}
		if r.Kind == KindOpen {
			open = append(open, r)
		}
	}
	return append(open, recs[k:]...)
}

func TestSeekTime(t *testing.T) {
	recs := genRecords(7, 3000, 8, 100)
	path, _, blocks := finished(t, recs, WriterOptions{Format: "csv", BlockSize: 2048, Compress: true})
	if len(blocks) < 20 {
		t.Fatalf("%d blocks", len(blocks))
	}
	first, last := recs[len(syms)].Recv, recs[len(recs)-1].Recv
	rng := rand.New(rand.NewPCG(1, 2))
	targets := []int64{0, first, first + 1, last, last + 1, 1 << 62}
	for range 30 {
		targets = append(targets, first+rng.Int64N(last-first))
	}
	// Exact Recv values of records, including one right at a block start.
	targets = append(targets, recs[recordsBefore(blocks, 10)].Recv, recs[recordsBefore(blocks, 10)-1].Recv)
	for _, withIdx := range []bool{true, false} {
		if !withIdx {
			os.Remove(indexPath(path))
		}
		r, dmg, err := OpenCapture(path, OpenOptions{ReadOnly: true})
		if err != nil || len(dmg) != 0 {
			t.Fatal(err, dmg)
		}
		lo, hi, ok := r.TimeRange()
		if !ok || lo != first || hi != last {
			t.Fatalf("time range %d %d %v, want %d %d", lo, hi, ok, first, last)
		}
		for _, tt := range targets {
			if err := r.SeekTime(tt); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, r)
			sameRecords(t, got, expectSeek(recs, tt))
		}
		// Seeking back after reading to the end, then reading a little.
		if err := r.SeekTime(first); err != nil {
			t.Fatal(err)
		}
		if rec, err := r.Next(); err != nil || rec.Kind != KindOpen {
			t.Fatalf("%+v %v", rec, err)
		}
		r.Close()
	}
}

// TestRecorderRecoversCrashedCaptures: a new Recorder finishes the captures
// a crashed one left in its directory (no index): the torn tail is cut off
// and reported with its offset, the index written, so that the capture
// then opens clean; a finished capture is left alone, and one that cannot
// be read is reported without stopping the Recorder.
func TestRecorderRecoversCrashedCaptures(t *testing.T) {
	dir := t.TempDir()
	recs := genRecords(3, 400, 5, 120)
	capture := func(name string) (string, []blockInfo) {
		path := filepath.Join(dir, name)
		w := writeCapture(t, path, recs, WriterOptions{Format: "csv", BlockSize: 1024})
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		return path, w.blocks
	}
	done, _ := capture("tickd-20260102T143000.000000000.cap")
	crashed, blocks := capture("tickd-20260102T143100.000000000.cap")
	last := blocks[len(blocks)-1]
	if err := errors.Join(os.Remove(indexPath(crashed)), os.Truncate(crashed, last.off+10)); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "tickd-20260102T143200.000000000.cap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecorder(RecorderOptions{Dir: dir, Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rec.Stop(); rec.Run(context.Background()) }()
	got := rec.Recovered()
	if len(got) != 2 || got[0].Path != crashed || got[0].Err != nil || len(got[0].Damage) != 1 ||
		got[0].Damage[0].Offset != last.off || !got[0].Damage[0].Truncated || !errors.Is(got[0].Damage[0].Err, ErrTorn) {
		t.Fatalf("recovered %+v, want %s's torn tail at %d cut off", got, crashed, last.off)
	}
	if got[1].Path != empty || got[1].Err == nil {
		t.Fatalf("recovered %+v, want %s not recoverable", got[1], empty)
	}
	if _, err := os.Stat(indexPath(crashed)); err != nil {
		t.Fatalf("no index written: %v", err)
	}
	r, dmg, err := OpenCapture(crashed, OpenOptions{ReadOnly: true, Verify: true})
	if err != nil || len(dmg) != 0 {
		t.Fatalf("recovered capture opens with %v %v", err, dmg)
	}
	defer r.Close()
	sameRecords(t, readAll(t, r), recs[:recordsBefore(blocks, len(blocks)-1)])
	if st, err := os.Stat(done); err != nil || st.Size() != blocks[len(blocks)-1].end() {
		t.Fatalf("finished capture touched: %v %v", st, err)
	}
}

// TestOpenCaptureNamesFile: a capture that cannot be opened (too short for
// its header, or a header failing its checksum) is named in the error, so
// that among the files of a rotated capture the bad one is known.
func TestOpenCaptureNamesFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"short.cap":  "TICKDCAP\x01\x00",
		"badcrc.cap": "TICKDCAP" + strings.Repeat("x", fileHdrLen-8),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := OpenCapture(path, OpenOptions{ReadOnly: true})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
}

// TestGarbageBeforeTornTail: bad bytes between the last good block and a
// torn one go with the tail: one Damage, at the start of the bad bytes, and
// the file cut there, whether the last block is cut short (in its header or
// its payload) or whole with a payload that fails its check.
func TestGarbageBeforeTornTail(t *testing.T) {
	recs := genRecords(7, 300, 3, 100)
	_, file, blocks := finished(t, recs, WriterOptions{Format: "csv", BlockSize: 1024})
	last := blocks[len(blocks)-1]
	junk := append([]byte("junk"), make([]byte, 60)...)
	withJunk := append(append(append([]byte(nil), file[:last.off]...), junk...), file[last.off:]...)
	lastAt := last.off + int64(len(junk)) // the last block's start, after the junk
	flipped := append([]byte(nil), withJunk...)
	flipped[lastAt+blkHdrLen+int64(last.plen)/2] ^= 0x40
	want := recs[:recordsBefore(blocks, len(blocks)-1)]
	for name, b := range map[string][]byte{
		"cut in the header":  withJunk[:lastAt+blkHdrLen/2],
		"cut in the payload": withJunk[:lastAt+blkHdrLen+int64(last.plen)/2],
		"payload flipped":    flipped,
	} {
		p := filepath.Join(t.TempDir(), "torn.cap")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, dmg, err := OpenCapture(p, OpenOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(dmg) != 1 || dmg[0].Offset != last.off || !dmg[0].Truncated || !errors.Is(dmg[0].Err, ErrTorn) {
			t.Fatalf("%s: damage %v, want one torn tail at %d", name, dmg, last.off)
		}
		sameRecords(t, readAll(t, r), want)
		r.Close()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != last.off {
			t.Fatalf("%s: file left at %d bytes, want %d", name, st.Size(), last.off)
		}
	}
}
