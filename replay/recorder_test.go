package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func startRecorder(tb testing.TB, opts RecorderOptions) (*Recorder, chan error) {
	tb.Helper()
	rec, err := NewRecorder(opts)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rec.Run(context.Background()) }()
	return rec, done
}

// readFiles opens every file alone and returns all records in file order,
// checking that each file is clean, has its index, and that every Data or
// Close record's source was opened earlier in the same file.
func readFiles(tb testing.TB, files []string) []Record {
	tb.Helper()
	var all []Record
	for _, f := range files {
		if _, err := os.Stat(indexPath(f)); err != nil {
			tb.Fatalf("%s: no index: %v", f, err)
		}
		r, dmg, err := OpenCapture(f, OpenOptions{ReadOnly: true, Verify: true})
		if err != nil || len(dmg) != 0 {
			tb.Fatalf("%s: %v %v", f, err, dmg)
		}
		open := map[uint16]bool{}
		for _, rec := range readAll(tb, r) {
			switch rec.Kind {
			case KindOpen:
				open[rec.Source] = true
			default:
				if !open[rec.Source] {
					tb.Fatalf("%s: %v of source %d never opened in this file", f, rec.Kind, rec.Source)
				}
				if rec.Kind == KindClose {
					delete(open, rec.Source)
				}
			}
			all = append(all, rec)
		}
		r.Close()
	}
	return all
}

func TestRecorderConcurrentRotation(t *testing.T) {
	dir := t.TempDir()
	rec, done := startRecorder(t, RecorderOptions{Dir: dir, Format: "itch", MaxBytes: 16 << 10, BlockSize: 4096, Buffer: 64 << 10, Compress: true, Sync: SyncPolicy{Every: -1}})
	const writers, per = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			src := uint16(100 + g)
			rec.Open(src, fmt.Sprintf("conn-%d", g))
			for i := range per {
				rec.Data(src, int64(i), fmt.Appendf(nil, "g%d-msg%d-%s", g, i, bytes.Repeat([]byte{'x'}, i%50)))
			}
			rec.Close(src, per)
		})
	}
	wg.Wait()
	rec.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	files := rec.Files()
	if len(files) < 3 {
		t.Fatalf("%d files: size rotation did not happen", len(files))
	}
	if !slices.IsSorted(files) {
		t.Fatalf("file names do not sort in creation order: %v", files)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "tickd-*.cap"))
	if len(entries) != len(files) {
		t.Fatalf("%d files on disk, Files says %d", len(entries), len(files))
	}
	// Per source, the Data records are all there, in order (the re-announced
	// Opens aside).
	got := map[uint16][]string{}
	closes := 0
	for _, r := range readFiles(t, files) {
		switch r.Kind {
		case KindData:
			got[r.Source] = append(got[r.Source], string(r.Bytes))
		case KindClose:
			closes++
		}
	}
	for g := range writers {
		d := got[uint16(100+g)]
		if len(d) != per {
			t.Fatalf("source %d: %d data records, want %d", g, len(d), per)
		}
		for i, s := range d {
			if want := fmt.Sprintf("g%d-msg%d-%s", g, i, bytes.Repeat([]byte{'x'}, i%50)); s != want {
				t.Fatalf("source %d record %d: %q, want %q", g, i, s, want)
			}
		}
	}
	if closes != writers || rec.Dropped() != 0 {
		t.Fatalf("%d closes, %d dropped", closes, rec.Dropped())
	}
}

// TestRecorderBlocksWhenFull: with no writer running the callers fill the
// buffer (Buffer bytes of sealed chunks, plus the chunk being filled) and
// block; starting the writer releases them and nothing is lost.
func TestRecorderBlocksWhenFull(t *testing.T) {
	rec, err := NewRecorder(RecorderOptions{Dir: t.TempDir(), Format: "csv", Buffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 1000)
	var sent atomic.Int64
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		rec.Open(1, "tail:x.csv")
		for i := range 500 {
			msg[0] = byte(i)
			rec.Data(1, int64(i), msg)
			sent.Add(1)
		}
	}()
	// 1015-byte records: 16 in each 16 KiB chunk; 4 chunks of backlog and
	// the one being filled. Once they are in (awaited: a fixed pause could
	// end first on a loaded machine), no more may get in.
	waitFor(t, func() bool { return sent.Load() >= 5*16 })
	time.Sleep(50 * time.Millisecond)
	if n := sent.Load(); n != 5*16 {
		t.Fatalf("%d records accepted before the buffer filled", n)
	}
	done := make(chan error, 1)
	go func() { done <- rec.Run(context.Background()) }()
	<-fin
	rec.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recs := readFiles(t, rec.Files())
	if len(recs) != 501 {
		t.Fatalf("%d records, want 501", len(recs))
	}
	for i, r := range recs[1:] {
		if r.Recv != int64(i) || r.Bytes[0] != byte(i) || len(r.Bytes) != 1000 {
			t.Fatalf("record %d: recv %d len %d", i, r.Recv, len(r.Bytes))
		}
	}
	// After Stop records are dropped, not blocked on.
	rec.Data(1, 1, msg)
	if rec.Dropped() != 1 {
		t.Fatalf("dropped %d", rec.Dropped())
	}
}

// TestRecorderAgeRotationAndFlush: a record reaches the file within
// FlushEvery, through the page cache and with Direct (where it waits in
// the staging buffer), and files rotate by age.
func TestRecorderAgeRotationAndFlush(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(map[bool]string{false: "buffered", true: "direct"}[direct], func(t *testing.T) {
			testRecorderAgeRotationAndFlush(t, direct)
		})
	}
}

func testRecorderAgeRotationAndFlush(t *testing.T, direct bool) {
	rec, done := startRecorder(t, RecorderOptions{Dir: t.TempDir(), Format: "json", MaxAge: 40 * time.Millisecond, FlushEvery: 10 * time.Millisecond, Direct: direct})
	rec.Open(3, "nats:x")
	rec.Data(3, 1, []byte("a"))
	// The partial block reaches the file without Stop (FlushEvery).
	deadline := time.Now().Add(2 * time.Second)
	for {
		if f := rec.Files(); len(f) == 1 {
			if st, err := os.Stat(f[0]); err == nil && st.Size() > fileHdrLen {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("partial block never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(60 * time.Millisecond)
	rec.Data(3, 2, []byte("b"))
	rec.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	files := rec.Files()
	if len(files) < 2 {
		t.Fatalf("%d files, want age rotation", len(files))
	}
	recs := readFiles(t, files)
	var data []string
	for _, r := range recs {
		if r.Kind == KindData {
			data = append(data, string(r.Bytes))
		}
	}
	if !slices.Equal(data, []string{"a", "b"}) {
		t.Fatalf("data %q", data)
	}
}

func TestRecorderContextStops(t *testing.T) {
	rec, err := NewRecorder(RecorderOptions{Dir: t.TempDir(), Format: "native"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	rec.Open(1, "x")
	rec.Data(1, 5, []byte("hello"))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recs := readFiles(t, rec.Files())
	if len(recs) != 2 || string(recs[1].Bytes) != "hello" {
		t.Fatalf("%+v", recs)
	}
	if err := rec.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
}

func TestRecorderOptionsValidated(t *testing.T) {
	for _, o := range []RecorderOptions{
		{Format: "csv"},
		{Dir: t.TempDir()},
		{Dir: t.TempDir(), Format: "csv", Buffer: 100},
		{Dir: t.TempDir(), Format: "csv", MaxBytes: 10},
		{Dir: t.TempDir(), Format: "csv", BlockSize: 1},
	} {
		if _, err := NewRecorder(o); err == nil {
			t.Fatalf("%+v accepted", o)
		}
	}
}

// A feed that outruns the writer waits for room (recording is lossless) and
// each wait is counted; what waited is written once the writer catches up.
func TestRecorderStallsCounted(t *testing.T) {
	rec, err := NewRecorder(RecorderOptions{Dir: t.TempDir(), Format: "native", Buffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	// 16 KiB chunks hold one of these each, and 4 sealed chunks fill the
	// 64 KiB Buffer: the sixth put waits.
	chunk := bytes.Repeat([]byte{0xAB}, 12<<10)
	const puts = 6
	put := make(chan struct{})
	go func() {
		rec.Open(1, "feed")
		for i := range puts {
			rec.Data(1, int64(i), chunk)
		}
		close(put)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for rec.Stalls() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the last put never waited")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-put:
		t.Fatal("the put returned with no room and no writer")
	default:
	}
	done := make(chan error, 1)
	go func() { done <- rec.Run(context.Background()) }()
	<-put
	rec.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rec.Stalls(); got != 1 {
		t.Fatalf("stalls %d, want 1", got)
	}
	var data int
	for _, r := range readFiles(t, rec.Files()) {
		if r.Kind == KindData {
			if !bytes.Equal(r.Bytes, chunk) {
				t.Fatalf("data record at %d differs", r.Recv)
			}
			data++
		}
	}
	if data != puts || rec.Dropped() != 0 {
		t.Fatalf("%d data records, %d dropped; want %d, 0", data, rec.Dropped(), puts)
	}
}

// TestRecorderManySources: more sources than the Buffer has chunks for
// each hold the chunk they fill (the recorder makes chunks for them rather
// than wait for a disk that is not behind; their Closes, which seal 40
// chunks at once, may wait), a source reopened under its id
// after Close gets a new lane whose records follow the old one's, and a
// source opened twice ends its first lane there.
func TestRecorderManySources(t *testing.T) {
	rec, done := startRecorder(t, RecorderOptions{Dir: t.TempDir(), Format: "csv", Buffer: 64 << 10})
	const sources = 40 // 4 chunks of Buffer
	for s := range sources {
		rec.Open(uint16(s), fmt.Sprint("conn-", s))
	}
	for i := range 3 {
		for s := range sources {
			rec.Data(uint16(s), int64(i), fmt.Appendf(nil, "%d:%d", s, i))
		}
	}
	if n := rec.Stalls(); n != 0 {
		t.Fatalf("%d stalls with nothing waiting for the disk", n)
	}
	for s := range sources {
		rec.Close(uint16(s), 3)
	}
	rec.Open(7, "again")
	rec.Data(7, 4, []byte("after-close"))
	rec.Open(7, "twice") // no Close: the lane of "again" ends here
	rec.Data(7, 5, []byte("after-reopen"))
	rec.Close(7, 6)
	rec.Data(7, 7, []byte("closed")) // no open source 7: dropped
	rec.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", rec.Dropped())
	}
	per := map[uint16][]string{}
	for _, r := range readFiles(t, rec.Files()) {
		s := fmt.Sprint(r.Kind, " ", r.Name, string(r.Bytes))
		per[r.Source] = append(per[r.Source], s)
	}
	for s := range sources {
		var want []string
		want = append(want, fmt.Sprint(KindOpen, " ", "conn-", s))
		for i := range 3 {
			want = append(want, fmt.Sprint(KindData, " ", s, ":", i))
		}
		want = append(want, fmt.Sprint(KindClose, " "))
		if s == 7 {
			want = append(want, fmt.Sprint(KindOpen, " again"), fmt.Sprint(KindData, " after-close"),
				fmt.Sprint(KindOpen, " twice"), fmt.Sprint(KindData, " after-reopen"), fmt.Sprint(KindClose, " "))
		}
		if got := per[uint16(s)]; !slices.Equal(got, want) {
			t.Fatalf("source %d:\n got %q\nwant %q", s, got, want)
		}
	}
}

// TestRecorderHoldsItsDir: two recorders in one directory would interleave
// their files, so a second is refused, naming the holder's pid, until the
// first's Run has returned.
func TestRecorderHoldsItsDir(t *testing.T) {
	dir := t.TempDir()
	opts := RecorderOptions{Dir: dir, Format: "native"}
	rec, done := startRecorder(t, opts)
	_, err := NewRecorder(opts)
	if want := fmt.Sprintf("is recorded to by another recorder (pid %d)", os.Getpid()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second recorder on %s: %v, want %q", dir, err, want)
	}
	rec.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	again, done := startRecorder(t, opts)
	again.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRecorderRotationWithNoSourceOpen: a file rotated (by age) when no
// source is open is finished without a header-only file after it; the next
// source's records start the next file.
func TestRecorderRotationWithNoSourceOpen(t *testing.T) {
	rec, done := startRecorder(t, RecorderOptions{Dir: t.TempDir(), Format: "native", MaxAge: 200 * time.Millisecond, FlushEvery: 5 * time.Millisecond})
	rec.Open(1, "tcp a")
	rec.Data(1, 1, []byte("a"))
	rec.Close(1, 2)
	// The first file is finished (its index written) by the age rotation.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if f := rec.Files(); len(f) > 0 {
			if _, err := os.Stat(indexPath(f[0])); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no age rotation")
		}
	}
	if f := rec.Files(); len(f) != 1 {
		t.Fatalf("files %v after a rotation with no source open, want the first only", f)
	}
	rec.Open(2, "tcp b")
	rec.Data(2, 3, []byte("b"))
	rec.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	files := rec.Files()
	if len(files) != 2 {
		t.Fatalf("files %v, want the second started by the next source", files)
	}
	if recs := readFiles(t, files[1:]); len(recs) != 2 || recs[0].Name != "tcp b" || string(recs[1].Bytes) != "b" {
		t.Fatalf("second file holds %+v", recs)
	}
}

// TestRecorderAbandon: a Recorder given up before it ran removes its lock
// file and the directories NewRecorder created, but not a directory that
// existed before it, nor one someone else put a file in.
func TestRecorderAbandon(t *testing.T) {
	root := t.TempDir()
	made := filepath.Join(root, "a", "b")
	r, err := NewRecorder(RecorderOptions{Dir: made, Format: "native"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Abandon(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Fatalf("abandoned recorder left %v in %s", left, root)
	}
	if err := r.Run(context.Background()); err == nil {
		t.Error("Run after Abandon succeeded")
	}

	r, err = NewRecorder(RecorderOptions{Dir: root, Format: "native"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Abandon(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("abandoned recorder removed the directory it was given: %v", err)
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Fatalf("abandoned recorder left %v in %s", left, root)
	}

	r, err = NewRecorder(RecorderOptions{Dir: made, Format: "native"})
	if err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(root, "a", "other")
	if err := os.WriteFile(kept, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Abandon(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("abandoned recorder removed a directory holding another's file: %v", err)
	}
	if _, err := os.Stat(made); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s: %v, want it removed", made, err)
	}
}
