package replay

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/tickd/tickd/internal/hugepage"
)

// TestDirectWriterSameFile writes the same records with and without
// Direct, pushing (Flush) at random points so unaligned tails go out
// through the page cache and are then overwritten by direct writes, past
// several whole stages: the two files and indexes must be equal, byte for
// byte, and read back clean.
func TestDirectWriterSameFile(t *testing.T) {
	dir := t.TempDir()
	canDirect := probeDirect(dir)
	t.Logf("O_DIRECT works in %s: %v", dir, canDirect)
	recs := genRecords(11, 900, 6, 50_000) // ~22 MB: about three stages
	flushAt := map[int]bool{}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 60 {
		flushAt[rng.IntN(len(recs))] = true
	}
	start := time.Unix(1_700_000_000, 0)
	var files [2][]byte
	var indexes [2][]byte
	for i, direct := range []bool{false, true} {
		path := filepath.Join(dir, map[bool]string{false: "buffered.cap", true: "direct.cap"}[direct])
		w, err := Create(path, WriterOptions{Format: "native", Start: start, Sync: SyncPolicy{Every: -1}, Direct: direct})
		if err != nil {
			t.Fatal(err)
		}
		if direct && w.f.isDirect() != canDirect {
			t.Fatalf("writing with O_DIRECT: %v, but O_DIRECT works here: %v", w.f.isDirect(), canDirect)
		}
		for j, r := range recs {
			err := putRecord(w, r)
			if err == nil && flushAt[j] {
				err = w.Flush()
				// Everything written is in the file now.
				if st, serr := os.Stat(path); serr != nil || st.Size() != w.off {
					t.Fatalf("direct=%v: after Flush at record %d the file has %v bytes (%v), want %d", direct, j, st.Size(), serr, w.off)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		if files[i], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		if indexes[i], err = os.ReadFile(indexPath(path)); err != nil {
			t.Fatal(err)
		}
		r, dmg, err := OpenCapture(path, OpenOptions{ReadOnly: true, Verify: true})
		if err != nil || len(dmg) != 0 {
			t.Fatalf("direct=%v: %v %v", direct, err, dmg)
		}
		sameRecords(t, readAll(t, r), recs)
		r.Close()
	}
	if len(files[0]) < 2*directStage {
		t.Fatalf("only %d bytes: whole stages not exercised", len(files[0]))
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatalf("direct capture (%d bytes) differs from buffered (%d)", len(files[1]), len(files[0]))
	}
	if !bytes.Equal(indexes[0], indexes[1]) {
		t.Fatal("direct capture's index differs from buffered")
	}
}

// TestAlignedBuffer: O_DIRECT needs the buffer's address aligned.
func TestAlignedBuffer(t *testing.T) {
	for _, n := range []int{directAlign, 3 * directAlign, directStage} {
		b := alignedBuffer(n)
		if len(b) != 0 || cap(b) != n {
			t.Fatalf("len %d cap %d, want 0 and %d", len(b), cap(b), n)
		}
		if addr := uintptrOf(b[:1]); addr%directAlign != 0 {
			t.Fatalf("address %#x not %d-aligned", addr, directAlign)
		}
		// A stage starts on a huge page, so that it can be backed by them.
		if addr := uintptrOf(b[:1]); n >= hugepage.Size && addr%hugepage.Size != 0 {
			t.Fatalf("a %d-byte buffer at %#x, not on a huge page boundary", n, addr)
		}
	}
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// TestRecorderDirect: a Recorder writes with O_DIRECT when asked and its
// directory takes it, and says so; never when not asked.
func TestRecorderDirect(t *testing.T) {
	for _, ask := range []bool{false, true} {
		dir := t.TempDir() // a recorder holds its directory
		rec, err := NewRecorder(RecorderOptions{Dir: dir, Format: "native", Direct: ask})
		if err != nil {
			t.Fatal(err)
		}
		if want := ask && probeDirect(dir); rec.Direct() != want {
			t.Fatalf("asked %v: Direct() = %v, want %v", ask, rec.Direct(), want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != lockName {
			t.Fatalf("the probes left %v, want only the lock file", entries)
		}
	}
}
