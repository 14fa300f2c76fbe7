package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tickd/tickd/bus"
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

// DefaultMaxFileSize is FileOptions.MaxSize's default.
const DefaultMaxFileSize = 64 << 20

// stateFile holds the file store's high-water marks in its directory.
const stateFile = "tickd-sink-state.json"

// FileOptions configures a file store.
type FileOptions struct {
	Dir    string
	Format FileFormat
	// MaxSize rotates a file once it holds this many bytes; default
	// DefaultMaxFileSize, negative: never by size.
	MaxSize int64
	// MaxAge rotates a file once it is this old; 0: never by age.
	MaxAge time.Duration
}

// fileStore writes each table to its own series of files,
// <dir>/<stem>-<UTC time>.<ext>: a new file at every start, and whenever
// the current one reaches MaxSize or MaxAge (checked between batches, so a
// batch never spans two files).
//
// Rows are deduplicated by high-water mark: per table and publisher it
// keeps the highest seq written and skips rows at or below it. A publisher
// sends seqs in increasing order and a subject pattern's messages arrive in
// that order, so this skips exactly the rows written before. The marks are
// saved to stateFile after every batch, and at start the newest file of
// each table is read back too, so rows written just before a crash (after
// their batch's fsync, before the state's) are not written again.
type fileStore struct {
	opts  FileOptions
	marks [2]map[string]uint64 // by table index: publisher → highest seq written
	cur   [2]*rotFile
	bufs  [2][]byte
	pend  [2]map[string]uint64 // marks of the batch being written
	now   func() time.Time
}

type rotFile struct {
	f      *os.File
	size   int64
	opened time.Time
}

// OpenFiles opens a file store in opts.Dir, creating the directory if
// needed. Only one sink may write a directory at a time.
func OpenFiles(opts FileOptions) (Store, error) {
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
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sink: files: %w", err)
	}
	s := &fileStore{opts: opts, now: time.Now}
	for i := range s.marks {
		s.marks[i] = map[string]uint64{}
		s.pend[i] = map[string]uint64{}
	}
	if err := s.loadMarks(); err != nil {
		return nil, err
	}
	return s, nil
}

// loadMarks reads stateFile, then raises the marks with the rows of each
// table's newest file.
func (s *fileStore) loadMarks() error {
	data, err := os.ReadFile(filepath.Join(s.opts.Dir, stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("sink: files: %w", err)
	default:
		var st map[string]map[string]uint64
		if err := json.Unmarshal(data, &st); err != nil {
			return fmt.Errorf("sink: files: %s: %w", stateFile, err)
		}
		for _, t := range tables {
			for pub, seq := range st[t.stem] {
				s.marks[t.index][pub] = seq
			}
		}
	}
	for _, t := range tables {
		files, err := s.files(t)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			continue
		}
		newest := files[len(files)-1]
		if err := s.scan(newest, s.marks[t.index]); err != nil {
			return fmt.Errorf("sink: files: %s: %w", newest, err)
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

// scan raises marks with the (publisher, seq) of every complete row of the
// file at path. A torn last line (a crash mid-write) is ignored.
func (s *fileStore) scan(path string, marks map[string]uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	raise := func(pub string, seq uint64) {
		if seq > marks[pub] {
			marks[pub] = seq
		}
	}
	if s.opts.Format == CSV {
		r := csv.NewReader(bufio.NewReader(f))
		r.FieldsPerRecord = -1
		for line := 0; ; line++ {
			rec, err := r.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return nil // torn tail
			}
			if line == 0 || len(rec) < 2 {
				continue // header
			}
			if seq, err := strconv.ParseUint(rec[1], 10, 64); err == nil {
				raise(rec[0], seq)
			}
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var key struct {
			Publisher string `json:"publisher"`
			Seq       uint64 `json:"seq"`
		}
		if json.Unmarshal(sc.Bytes(), &key) == nil {
			raise(key.Publisher, key.Seq)
		}
	}
	return nil
}

// Write appends the new rows of msgs to the current files, fsyncs them,
// then saves the marks. On a failure every file is cut back to where the
// batch started, so a retry writes no row twice.
func (s *fileStore) Write(_ context.Context, msgs []bus.Message) (int, error) {
	var args []any
	written := 0
	for i := range s.bufs {
		s.bufs[i] = s.bufs[i][:0]
		clear(s.pend[i])
	}
	for _, m := range msgs {
		t := tableOf(m)
		if t == nil {
			continue
		}
		pub, seq := m.Origin()
		if seq <= s.marks[t.index][pub] || seq <= s.pend[t.index][pub] {
			continue
		}
		s.pend[t.index][pub] = seq
		args = t.row(m, args[:0])
		s.bufs[t.index] = s.appendRow(s.bufs[t.index], t, args)
		written++
	}
	var starts [2]int64
	var err error
	for _, t := range tables {
		if len(s.bufs[t.index]) == 0 {
			continue
		}
		if err = s.rotate(t); err != nil {
			break
		}
		rf := s.cur[t.index]
		starts[t.index] = rf.size
		if _, err = rf.f.Write(s.bufs[t.index]); err == nil {
			err = rf.f.Sync()
		}
		rf.size += int64(len(s.bufs[t.index]))
		if err != nil {
			break
		}
	}
	if err == nil {
		if err = s.saveMarks(); err == nil {
			for i := range s.pend {
				for pub, seq := range s.pend[i] {
					s.marks[i][pub] = seq
				}
			}
			return written, nil
		}
	}
	// Undo: cut every file back to where the batch started.
	for _, t := range tables {
		if rf := s.cur[t.index]; rf != nil && len(s.bufs[t.index]) > 0 {
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
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
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

// saveMarks writes the marks, raised by the batch's, to stateFile
// atomically (temp file, rename).
func (s *fileStore) saveMarks() error {
	st := make(map[string]map[string]uint64, len(tables))
	for _, t := range tables {
		m := make(map[string]uint64, len(s.marks[t.index]))
		for pub, seq := range s.marks[t.index] {
			m[pub] = seq
		}
		for pub, seq := range s.pend[t.index] {
			m[pub] = seq
		}
		st[t.stem] = m
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.opts.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.opts.Dir, stateFile))
}

// Close closes the current files.
func (s *fileStore) Close() error {
	var errs []error
	for i, rf := range s.cur {
		if rf != nil {
			errs = append(errs, rf.f.Close())
			s.cur[i] = nil
		}
	}
	return errors.Join(errs...)
}
