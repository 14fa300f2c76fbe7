package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/internal/dirlock"
)

// FileFormat is how a file store writes rows.
type FileFormat uint8

// File formats.
const (
	CSV       FileFormat = iota // RFC 4180, a header line per file
	JSONLines                   // one JSON object per line
)

func (f FileFormat) ext() string {
	if f == JSONLines {
		return ".jsonl"
	}
	return ".csv"
}

// Defaults of FileOptions.
const (
	DefaultMaxFileSize = 64 << 20
	DefaultWindow      = DefaultMaxBuffer + DefaultBatchSize
)

// FileOptions configures a file store.
type FileOptions struct {
	Dir    string
	Format FileFormat
	// MaxSize rotates a file once it holds this many bytes; default
	// DefaultMaxFileSize, negative: never by size.
	MaxSize int64
	// MaxAge rotates a file once it is this old; 0: never by age.
	MaxAge time.Duration
	// Window is how many recent rows' keys are remembered to skip
	// redelivered rows; default DefaultWindow. It should exceed what may be
	// written but not yet acked: the sink's buffer plus a batch.
	Window int
}

// fileStore writes each table to its own series of files,
// <dir>/<stem>-<UTC time>.<ext>: a new file at every start, and whenever
// the current one reaches MaxSize or MaxAge (checked between batches, so a
// batch never spans two files).
//
// Duplicates come from redelivery: JetStream sends again what was written
// but not acked (the last batches before a crash or a lost connection),
// not necessarily in seq order. A file cannot be asked whether it holds a
// row, so the store remembers the exact keys (rowKey) of the last
// Window rows it wrote, and of the last Window rows of the previous run
// (read back from the newest files at start, kept for the whole run), and
// skips a row whose key it remembers.
type fileStore struct {
	opts FileOptions
	cur  [2]*rotFile // by table index
	seen keyWindow
	bufs [2][]byte
	pend map[rowKey]struct{} // keys of the batch being written
	now  func() time.Time    // the clock of MaxAge
	lock *os.File            // holds Dir for this store (lockName)
}

// lockName is the file in a file store's directory whose lock the store
// holds: a second sink writing there would store every row again in files
// of its own, out of reach of the first one's key window.
const lockName = ".tickd-sink.lock"

// lockDir takes dir for one file store; a second one is refused, naming
// the holder's pid.
func lockDir(dir string) (*os.File, error) {
	f, err := dirlock.Take(dir, lockName)
	var held *dirlock.HeldError
	if errors.As(err, &held) {
		return nil, fmt.Errorf("sink: files: directory %s is written by another sink (pid %s): give each its own directory", dir, held.PID)
	}
	if err != nil {
		return nil, fmt.Errorf("sink: files: %w", err)
	}
	return f, nil
}

// rowKey identifies a row: seq is per publisher run across every kind, so
// it is unique across tables too; ts_pub tells runs apart.
type rowKey struct {
	pub   string
	seq   uint64
	tsPub int64
}

// keyOf is m's rowKey.
func keyOf(m bus.Message) rowKey {
	pub, seq := m.Origin()
	var ts int64
	switch v := m.(type) {
	case *bus.Signal:
		ts = v.TsPub
	case *bus.Bar:
		ts = v.TsPub
	}
	return rowKey{pub, seq, ts}
}

// keyWindow is the keys of the last len(ring) rows written, and a fixed set
// read back at start.
type keyWindow struct {
	prior  map[rowKey]struct{}
	recent map[rowKey]struct{}
	ring   []rowKey // recent's keys in the order written
	next   int      // the ring slot to fill (and to evict) next
}

func newKeyWindow(n int) keyWindow {
	return keyWindow{prior: map[rowKey]struct{}{}, recent: map[rowKey]struct{}{}, ring: make([]rowKey, 0, n)}
}

func (w *keyWindow) has(k rowKey) bool {
	if _, ok := w.recent[k]; ok {
		return true
	}
	_, ok := w.prior[k]
	return ok
}

func (w *keyWindow) add(k rowKey) {
	if len(w.ring) < cap(w.ring) {
		w.ring = append(w.ring, k)
	} else {
		delete(w.recent, w.ring[w.next])
		w.ring[w.next] = k
		w.next = (w.next + 1) % len(w.ring)
	}
	w.recent[k] = struct{}{}
}

type rotFile struct {
	f      *os.File
	size   int64
	opened time.Time
}

// OpenFiles opens a file store in opts.Dir, creating the directory if
// needed. Only one sink may write a directory at a time: the store holds a
// lock on it until Close, and a second OpenFiles of it fails, naming the
// holder's pid.
func OpenFiles(opts FileOptions) (Store, error) {
	return openFiles(opts, time.Now)
}

func openFiles(opts FileOptions, now func() time.Time) (*fileStore, error) {
	if opts.Dir == "" {
		return nil, errors.New("sink: files: empty directory")
	}
	if opts.Format > JSONLines {
		return nil, fmt.Errorf("sink: files: unknown format %d", opts.Format)
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = DefaultMaxFileSize
	}
	if opts.MaxAge < 0 {
		return nil, fmt.Errorf("sink: files: negative rotation age %s", opts.MaxAge)
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	if opts.Window < 0 {
		return nil, fmt.Errorf("sink: files: negative window %d", opts.Window)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sink: files: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	s := &fileStore{opts: opts, now: now, seen: newKeyWindow(opts.Window), pend: map[rowKey]struct{}{}, lock: lock}
	if err := s.resume(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// resume cuts a torn last row off each table's newest file and remembers
// the keys of the last Window rows written before this run.
func (s *fileStore) resume() error {
	for _, t := range tables {
		files, err := s.files(t)
		if err != nil {
			return err
		}
		if len(files) > 0 {
			if err := cutTornTail(files[len(files)-1]); err != nil {
				return fmt.Errorf("sink: files: %w", err)
			}
		}
		// Newest first, until a window's worth of this table's rows.
		for i, n := len(files)-1, 0; i >= 0 && n < s.opts.Window; i-- {
			k, err := s.scan(files[i], s.seen.prior)
			if err != nil {
				return fmt.Errorf("sink: files: %s: %w", files[i], err)
			}
			n += k
		}
	}
	return nil
}

// files returns t's files in s's format, oldest first.
func (s *fileStore) files(t *table) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(s.opts.Dir, t.stem+"-*"+s.opts.Format.ext()))
	if err != nil {
		return nil, fmt.Errorf("sink: files: %w", err)
	}
	sort.Strings(files) // names carry a fixed-width UTC time
	return files, nil
}

// cutTornTail cuts a last line without its newline (a crash mid-write)
// off the file at path, so that it holds complete rows only.
func cutTornTail(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	// Look back for the last newline, a block at a time.
	end := fi.Size()
	buf := make([]byte, 64<<10)
	for off := end; off > 0; {
		n := min(off, int64(len(buf)))
		off -= n
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			if cut := off + int64(i) + 1; cut < end {
				return f.Truncate(cut)
			}
			return nil
		}
	}
	return f.Truncate(0)
}

// scan adds the key of every complete row of the file at path
// to keys and returns how many rows it read. A torn last line (a crash
// mid-write) is ignored: see cutTornTail.
func (s *fileStore) scan(path string, keys map[rowKey]struct{}) (rows int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if s.opts.Format == CSV {
		r := csv.NewReader(bufio.NewReader(f))
		r.FieldsPerRecord = -1
		tsPub := -1 // its column, from the header
		for line := 0; ; line++ {
			rec, err := r.Read()
			if err != nil {
				return rows, nil // the end, or a torn tail
			}
			if line == 0 {
				tsPub = slices.Index(rec, "ts_pub")
				continue
			}
			if len(rec) < 2 || tsPub < 0 || tsPub >= len(rec) {
				continue
			}
			seq, err1 := strconv.ParseUint(rec[1], 10, 64)
			ts, err2 := strconv.ParseInt(rec[tsPub], 10, 64)
			if err1 == nil && err2 == nil {
				keys[rowKey{rec[0], seq, ts}] = struct{}{}
				rows++
			}
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var key struct {
			Publisher string `json:"publisher"`
			Seq       uint64 `json:"seq"`
			TsPub     int64  `json:"ts_pub"`
		}
		if json.Unmarshal(sc.Bytes(), &key) == nil {
			keys[rowKey{key.Publisher, key.Seq, key.TsPub}] = struct{}{}
			rows++
		}
	}
	return rows, nil
}

// Write appends the new rows of msgs to the current files and fsyncs them.
// On a failure every file the batch reached is cut back to where the
// batch started (the others are left alone), so a retry writes no row
// twice and leaves no hole.
func (s *fileStore) Write(_ context.Context, msgs []bus.Message) (int, error) {
	if s.lock == nil {
		return 0, errors.New("sink: files: Write after Close")
	}
	var args []any
	written := 0
	for i := range s.bufs {
		s.bufs[i] = s.bufs[i][:0]
	}
	clear(s.pend)
	for _, m := range msgs {
		t := tableOf(m)
		if t == nil {
			continue
		}
		k := keyOf(m)
		if _, dup := s.pend[k]; dup || s.seen.has(k) {
			continue
		}
		s.pend[k] = struct{}{}
		args = t.row(m, args[:0])
		s.bufs[t.index] = s.appendRow(s.bufs[t.index], t, args)
		written++
	}
	var starts [2]int64 // each file's size before the batch
	var tried [2]bool   // the files the batch was appended to, all or part
	var err error
	for _, t := range tables {
		if len(s.bufs[t.index]) == 0 {
			continue
		}
		if err = s.rotate(t); err != nil {
			break
		}
		rf := s.cur[t.index]
		starts[t.index], tried[t.index] = rf.size, true
		if _, err = rf.f.Write(s.bufs[t.index]); err == nil {
			err = rf.f.Sync()
		}
		rf.size += int64(len(s.bufs[t.index]))
		if err != nil {
			break
		}
	}
	if err == nil {
		for k := range s.pend {
			s.seen.add(k)
		}
		return written, nil
	}
	// Undo: cut the files the batch reached back to where it started
	// (files are opened to append, so the retry's rows follow).
	for _, t := range tables {
		if rf := s.cur[t.index]; rf != nil && tried[t.index] {
			if terr := rf.f.Truncate(starts[t.index]); terr != nil {
				err = errors.Join(err, terr)
			} else {
				rf.size = starts[t.index]
			}
		}
	}
	return 0, fmt.Errorf("sink: files: %w", err)
}

// rotate opens t's first file, or a new one when the current is too big or old.
func (s *fileStore) rotate(t *table) error {
	rf := s.cur[t.index]
	now := s.now()
	if rf != nil && (s.opts.MaxSize < 0 || rf.size < s.opts.MaxSize) &&
		(s.opts.MaxAge == 0 || now.Sub(rf.opened) < s.opts.MaxAge) {
		return nil
	}
	if rf != nil {
		if err := rf.f.Close(); err != nil {
			return err
		}
		s.cur[t.index] = nil
	}
	// Fixed-width UTC time: names sort by age. A name taken (two rotations
	// within a nanosecond tick of a coarse clock) moves on a nanosecond.
	for ts := now.UTC(); ; ts = ts.Add(time.Nanosecond) {
		name := filepath.Join(s.opts.Dir, t.stem+"-"+ts.Format("20060102T150405.000000000Z")+s.opts.Format.ext())
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		rf = &rotFile{f: f, opened: now}
		if s.opts.Format == CSV {
			var hdr []byte
			for i, c := range t.cols {
				if i > 0 {
					hdr = append(hdr, ',')
				}
				hdr = append(hdr, c.name...)
			}
			hdr = append(hdr, '\n')
			if _, err := f.Write(hdr); err != nil {
				f.Close()
				os.Remove(name) // a headless file would be the newest at the next start
				return err
			}
			rf.size = int64(len(hdr))
		}
		s.cur[t.index] = rf
		return nil
	}
}

// appendRow appends one row in s's format.
func (s *fileStore) appendRow(dst []byte, t *table, vals []any) []byte {
	if s.opts.Format == CSV {
		for i, v := range vals {
			if i > 0 {
				dst = append(dst, ',')
			}
			switch v := v.(type) {
			case int64:
				dst = strconv.AppendInt(dst, v, 10)
			case string:
				dst = appendCSVField(dst, v)
			}
		}
		return append(dst, '\n')
	}
	dst = append(dst, '{')
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendJSONString(dst, t.cols[i].name), ':')
		switch v := v.(type) {
		case int64:
			dst = strconv.AppendInt(dst, v, 10)
		case string:
			if t.cols[i].typ == colJSON {
				dst = append(dst, v...)
			} else {
				dst = appendJSONString(dst, v)
			}
		}
	}
	return append(dst, '}', '\n')
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// appendCSVField quotes a field when it holds a comma, quote or line break.
func appendCSVField(dst []byte, v string) []byte {
	if !strings.ContainsAny(v, ",\"\r\n") && (v == "" || (v[0] != ' ' && v[0] != '\t')) {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	dst = append(dst, bytes.ReplaceAll([]byte(v), []byte(`"`), []byte(`""`))...)
	return append(dst, '"')
}

// Close closes the current files and releases the directory.
func (s *fileStore) Close() error {
	var errs []error
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
		s.lock = nil
	}
	for i, rf := range s.cur {
		if rf != nil {
			errs = append(errs, rf.f.Close())
			s.cur[i] = nil
		}
	}
	return errors.Join(errs...)
}
