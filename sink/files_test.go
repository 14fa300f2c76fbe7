package sink

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/bus"
)

// msgs makes n messages from publisher pub, seqs from first: signals and
// bars alternately.
func msgs(pub string, first uint64, n int) []bus.Message {
	out := make([]bus.Message, n)
	for i := range out {
		seq := first + uint64(i)
		px := decimal.New(100_00+int64(seq), -2)
		if seq%2 == 0 { // by seq: a message redelivered is the same message
			out[i] = &bus.Signal{Subject: "tickd.signal.AAPL.r", Publisher: pub, Seq: seq, Symbol: "AAPL", Rule: "r",
				Type: "threshold", Dir: bus.Up, TsEvent: int64(seq), TsRecv: int64(seq) + 1, TsPub: int64(seq) + 2,
				Price: px, Params: map[string]string{"level": "100"}, Values: map[string]float64{"last": 100.5}}
		} else {
			out[i] = &bus.Bar{Subject: "tickd.bar.1s.AAPL", Publisher: pub, Seq: seq, Symbol: "AAPL", Interval: time.Second,
				Start: int64(seq), Open: px, High: px, Low: px, Close: px, VWAP: px, Volume: 10, Count: 1,
				TsRecv: int64(seq), TsPub: int64(seq) + 1}
		}
	}
	return out
}

func write(t *testing.T, st Store, m []bus.Message) int {
	t.Helper()
	n, err := st.Write(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFileRotationBySize(t *testing.T) {
	for _, format := range []FileFormat{CSV, JSONLines} {
		t.Run(format.ext()[1:], func(t *testing.T) {
			dir := t.TempDir()
			const maxSize = 2048
			st, err := OpenFiles(FileOptions{Dir: dir, Format: format, MaxSize: maxSize})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				if n := write(t, st, msgs("p", uint64(1+10*i), 10)); n != 10 {
					t.Fatalf("batch %d: wrote %d rows, want 10", i, n)
				}
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			for _, tb := range tables {
				files, _ := filepath.Glob(filepath.Join(dir, tb.stem+"-*"+format.ext()))
				if len(files) < 3 {
					t.Fatalf("%s: %d files, want rotation into several", tb.stem, len(files))
				}
				for _, f := range files[:len(files)-1] {
					fi, err := os.Stat(f)
					if err != nil {
						t.Fatal(err)
					}
					// Rotation is checked between batches: a file ends
					// in the batch that took it past maxSize.
					if fi.Size() < maxSize || fi.Size() > maxSize+1024 {
						t.Errorf("%s: %d bytes, want [%d, %d]", f, fi.Size(), maxSize, maxSize+1024)
					}
				}
			}
			rows, total, err := readFiles(dir, format)
			if err != nil {
				t.Fatal(err)
			}
			if total != 400 || len(rows) != 400 {
				t.Fatalf("%d rows, %d distinct, want 400", total, len(rows))
			}
		})
	}
}

func TestFileRotationByAge(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := openFiles(FileOptions{Dir: dir, Format: CSV, MaxSize: -1, MaxAge: time.Minute}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write(t, st, msgs("p", 1, 2))
	now = now.Add(59 * time.Second)
	write(t, st, msgs("p", 3, 2)) // same files
	now = now.Add(time.Second)
	write(t, st, msgs("p", 5, 2)) // a minute old: new files
	files, _ := filepath.Glob(filepath.Join(dir, "signals-*.csv"))
	want := []string{"signals-20260102T030405.000000000Z.csv", "signals-20260102T030505.000000000Z.csv"}
	if len(files) != 2 || filepath.Base(files[0]) != want[0] || filepath.Base(files[1]) != want[1] {
		t.Fatalf("files %v, want %v", files, want)
	}
}

// TestFileRestartSkipsWritten: rows a previous run wrote are skipped when
// delivered again, in any order, and new rows are written; a torn last
// line, as a crash leaves, is cut off.
func TestFileRestartSkipsWritten(t *testing.T) {
	for _, format := range []FileFormat{CSV, JSONLines} {
		t.Run(format.ext()[1:], func(t *testing.T) {
			dir := t.TempDir()
			open := func() Store {
				st, err := OpenFiles(FileOptions{Dir: dir, Format: format, MaxSize: 1024, Window: 100})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			st := open()
			write(t, st, msgs("p", 1, 50))
			if n := write(t, st, msgs("p", 41, 20)); n != 10 { // 41..50 again within a run
				t.Fatalf("wrote %d rows, want 10 new", n)
			}
			st.Close()
			files, _ := filepath.Glob(filepath.Join(dir, "bars-*"+format.ext()))
			f, err := os.OpenFile(files[len(files)-1], os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(`p,9`) // torn
			f.Close()

			st = open()
			defer st.Close()
			redelivered := append(msgs("p", 55, 6), msgs("p", 30, 5)...) // 55..60 and 30..34, out of order
			if n := write(t, st, redelivered); n != 0 {
				t.Fatalf("wrote %d redelivered rows", n)
			}
			if n := write(t, st, msgs("p", 61, 5)); n != 5 {
				t.Fatalf("wrote %d new rows, want 5", n)
			}
			st.Close()
			// The torn line was cut; every complete row is there once.
			data, _ := os.ReadFile(files[len(files)-1])
			if !strings.HasSuffix(string(data), "\n") {
				t.Fatalf("torn line left: %q", data[max(0, len(data)-20):])
			}
			rows, total, err := readFiles(dir, format)
			if err != nil {
				t.Fatal(err)
			}
			if total != 65 || len(rows) != 65 {
				t.Fatalf("%d rows, %d distinct, want 65", total, len(rows))
			}
		})
	}
}

// TestFileFailedBatchUndone: a batch whose write fails in one table's file
// (a full disk) leaves every file as it was, whichever table failed, and
// the retry's rows follow the stored ones: no row lost, none twice, no
// hole.
func TestFileFailedBatchUndone(t *testing.T) {
	for _, format := range []FileFormat{CSV, JSONLines} {
		for _, failing := range tables {
			t.Run(format.ext()[1:]+"/"+failing.stem, func(t *testing.T) {
				dir := t.TempDir()
				st, err := openFiles(FileOptions{Dir: dir, Format: format}, time.Now)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				write(t, st, msgs("p", 1, 4))
				before := readDir(t, dir)

				st.cur[failing.index].f.Close() // its next write fails
				batch := msgs("p", 5, 4)
				if _, err := st.Write(context.Background(), batch); err == nil {
					t.Fatal("write to a closed file succeeded")
				}
				if after := readDir(t, dir); !reflect.DeepEqual(after, before) {
					t.Fatalf("a failed batch changed the files:\n%q\nwant\n%q", after, before)
				}

				st.cur[failing.index] = nil // the disk is back: the retry opens a new file
				if n := write(t, st, batch); n != 4 {
					t.Fatalf("retry wrote %d rows, want 4", n)
				}
				for name, data := range readDir(t, dir) {
					if strings.IndexByte(data, 0) >= 0 {
						t.Fatalf("%s has NUL bytes: %q", name, data)
					}
				}
				rows, total, err := readFiles(dir, format)
				if err != nil {
					t.Fatal(err)
				}
				if total != 8 || len(rows) != 8 {
					t.Fatalf("%d rows, %d distinct, want 8", total, len(rows))
				}
			})
		}
	}
}

// readDir returns the contents of the files in dir by name.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(data)
	}
	return out
}

// TestFileStoreHoldsItsDirectory: a second file store on a directory is
// refused, naming the holder, until the first one is closed; a closed store
// refuses Write rather than writing to an unguarded directory.
func TestFileStoreHoldsItsDirectory(t *testing.T) {
	dir := t.TempDir()
	first, err := OpenFiles(FileOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenFiles(FileOptions{Dir: dir, Format: JSONLines})
	if err == nil || !strings.Contains(err.Error(), "another sink (pid "+strconv.Itoa(os.Getpid())+")") {
		t.Fatalf("second store on %s: %v, want a refusal naming pid %d", dir, err, os.Getpid())
	}
	write(t, first, msgs("p", 1, 2))
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Write(context.Background(), msgs("p", 3, 2)); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	second, err := OpenFiles(FileOptions{Dir: dir})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRunOnceAtATime: a second Run while one is under way returns an error
// at once instead of writing to the Store from a second goroutine.
func TestRunOnceAtATime(t *testing.T) {
	st, err := OpenFiles(FileOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(st, Options{FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	s.Offer(msgs("p", 1, 1)[0])
	for s.Counters().Written == 0 { // the first Run is writing
		time.Sleep(time.Millisecond)
	}
	second, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := s.Run(second); err == nil || !strings.Contains(err.Error(), "another Run") {
		t.Errorf("second Run while one is under way: %v, want a refusal", err)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}

// TestFileRotationAtExactlyMaxSize: a file that has reached MaxSize exactly
// takes no more rows; the next batch starts a new file.
func TestFileRotationAtExactlyMaxSize(t *testing.T) {
	sizeOfOne := func() int64 { // one batch's file, header included
		dir := t.TempDir()
		st, err := OpenFiles(FileOptions{Dir: dir, Format: CSV, MaxSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		write(t, st, msgs("p", 1, 10))
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, tables[0].stem+"-*.csv"))
		if len(files) != 1 {
			t.Fatalf("%d files of one batch", len(files))
		}
		fi, err := os.Stat(files[0])
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	dir := t.TempDir()
	st, err := OpenFiles(FileOptions{Dir: dir, Format: CSV, MaxSize: sizeOfOne()})
	if err != nil {
		t.Fatal(err)
	}
	write(t, st, msgs("p", 1, 10))
	write(t, st, msgs("p", 11, 10))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, tables[0].stem+"-*.csv")); len(files) != 2 {
		t.Fatalf("%d files, want 2: the first reached MaxSize exactly with its first batch", len(files))
	}
}

// TestFileResumeReadsOneWindow: at start the store remembers the keys of
// the newest files of each table until it has a window's worth, and no
// further: with exactly Window rows in each table's newest file it reads
// no older file (a whole file's keys more, up to MaxSize of rows, at every
// start).
func TestFileResumeReadsOneWindow(t *testing.T) {
	const window = 4 // rows per table: msgs alternates signals and bars
	dir := t.TempDir()
	open := func() *fileStore {
		st, err := openFiles(FileOptions{Dir: dir, Format: CSV, MaxSize: -1, Window: window}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for run, first := range []uint64{1, 1 + 2*window} { // each run starts new files
		st := open()
		if n := write(t, st, msgs("p", first, 2*window)); n != 2*window {
			t.Fatalf("run %d wrote %d rows, want %d", run, n, 2*window)
		}
		st.Close()
		// A later run's files must sort after these: names carry the time to the ns.
		for _, tb := range tables {
			files, _ := filepath.Glob(filepath.Join(dir, tb.stem+"-*.csv"))
			if len(files) != run+1 {
				t.Fatalf("%s: %d files after run %d, want %d", tb.stem, len(files), run, run+1)
			}
		}
	}
	st := open()
	defer st.Close()
	want := map[rowKey]struct{}{}
	for _, m := range msgs("p", 1+2*window, 2*window) {
		want[keyOf(m)] = struct{}{}
	}
	if !reflect.DeepEqual(st.seen.prior, want) {
		t.Fatalf("remembered %d keys at start, want the newest files' %d", len(st.seen.prior), len(want))
	}
}

// TestFileKeyWindowHoldsTheLastWindowRows: within a run the store
// remembers exactly the keys of the last Window rows written, however
// many times its ring has wrapped: no fewer (a redelivered row inside the
// window would be stored twice), no more.
func TestFileKeyWindowHoldsTheLastWindowRows(t *testing.T) {
	const window = 3
	st, err := openFiles(FileOptions{Dir: t.TempDir(), Format: JSONLines, Window: window}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all := msgs("p", 1, 4*window)
	for i, m := range all {
		write(t, st, []bus.Message{m})
		want := map[rowKey]struct{}{}
		for _, w := range all[max(0, i+1-window) : i+1] {
			want[keyOf(w)] = struct{}{}
		}
		if !reflect.DeepEqual(st.seen.recent, want) {
			t.Fatalf("after %d rows: %d keys remembered, want the last %d", i+1, len(st.seen.recent), len(want))
		}
	}
}

// TestFileResumeSkipsShortCSVRows: a row with fewer fields than its
// file's header (a file edited by hand) is passed over at start, not a
// crash, and the other rows' keys are remembered.
func TestFileResumeSkipsShortCSVRows(t *testing.T) {
	dir := t.TempDir()
	st, err := openFiles(FileOptions{Dir: dir, Format: CSV}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	write(t, st, msgs("p", 1, 4))
	st.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "signals-*.csv"))
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(data), "\n")
	cols := strings.Split(header, ",")
	short := strings.Join(cols[:slices.Index(cols, "ts_pub")], ",") // the columns before ts_pub only
	if err := os.WriteFile(files[0], append(data, short+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = openFiles(FileOptions{Dir: dir, Format: CSV}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := write(t, st, msgs("p", 1, 4)); n != 0 {
		t.Errorf("wrote %d rows written before, want 0", n)
	}
}
