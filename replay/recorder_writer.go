package replay

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// fileWriter is the writer goroutine's state.
type fileWriter struct {
	r        *Recorder
	w        *Writer
	opened   time.Time
	records  int       // records in w beyond the re-announced Opens
	since    time.Time // when the current partial block got its first record
	lastName time.Time
	open     []Record // sources open now, in open order, re-announced on rotation
}

// Run is the writer goroutine: it writes the sources' records until Stop
// (or ctx is done, which stops the recorder the same way), then writes what
// is left, finishes the current file with its index and returns nil. It
// returns the first write error, after which records are dropped.
func (r *Recorder) Run(ctx context.Context) error {
	if err := r.claim("replay: Recorder.Run called twice"); err != nil {
		return err
	}
	defer r.lock.Close() // the directory is free for another recorder

	fw := &fileWriter{r: r}
	tick := time.NewTicker(min(r.opts.FlushEvery, r.opts.MaxAge))
	defer tick.Stop()
	nap := time.NewTimer(maxIdle)
	defer nap.Stop()
	done := ctx.Done()
	idle := linger
	var lanes []*lane
	for {
		r.idle.Store(false)
		final := r.state.Load() != recording // read every lane once more, then finish
		var wrote int
		var err error
		if lanes, wrote, err = r.visit(fw, lanes); err != nil {
			return r.fail(fw, err)
		}
		if final {
			return fw.finish()
		}
		sleep := linger
		if wrote == 0 {
			sleep, idle = idle, min(2*idle, maxIdle)
			r.idle.Store(true) // the next sealed chunk wakes the writer
		} else {
			idle = linger
		}
		nap.Reset(sleep)
		select {
		case <-r.wake:
		case <-nap.C:
		case <-tick.C:
			if err := fw.tick(); err != nil {
				return r.fail(fw, err)
			}
		case <-done:
			done = nil
			r.Stop()
		}
	}
}

// visit writes what every open lane has committed, in open order, retires
// the closed lanes it read to their end, and returns how many bytes of
// records it wrote. lanes is scratch space, returned for the next visit.
func (r *Recorder) visit(fw *fileWriter, lanes []*lane) ([]*lane, int, error) {
	r.mu.Lock()
	lanes = append(lanes[:0], r.open...)
	r.mu.Unlock()
	wrote, retired := 0, false
	for _, l := range lanes {
		for {
			b, sealed := l.unread()
			if len(b) > 0 {
				if err := fw.write(b); err != nil {
					return lanes, wrote, err
				}
				wrote += len(b)
			}
			if !sealed {
				break
			}
			done := l.advance()
			if done == nil { // the lane's last chunk: it ended
				r.give(l.read)
				l.read, retired = nil, true
				break
			}
			r.give(done)
		}
	}
	if retired {
		r.mu.Lock()
		r.open = slices.DeleteFunc(r.open, func(l *lane) bool { return l.read == nil })
		r.mu.Unlock()
	}
	return lanes, wrote, nil
}

func (r *Recorder) fail(fw *fileWriter, err error) error {
	r.halt(failed, err)
	if fw.w != nil {
		path := fw.w.Path()
		fw.w.Finish() // keep what can be kept; err is the one to report
		fw.w = nil
		// The failed write (a full disk) may have left part of a block:
		// cut it off and write the index, as after a crash, so that the
		// capture reopens clean. Cutting frees space; the index may fit.
		recoverCapture(path)
	}
	// Sources waiting for a chunk were released by halt; the chunks still
	// queued are dropped with the lanes.
	return err
}

// write writes a batch of buffered records.
func (fw *fileWriter) write(b []byte) error {
	now := time.Now()
	for len(b) > 0 {
		kind := Kind(b[0])
		source := binary.LittleEndian.Uint16(b[1:])
		recv := int64(binary.LittleEndian.Uint64(b[3:]))
		n := int(binary.LittleEndian.Uint32(b[11:]))
		p := b[recHdr : recHdr+n]
		b = b[recHdr+n:]
		if fw.w == nil {
			if err := fw.rotate(); err != nil {
				return err
			}
		}
		if !fw.w.pending() {
			fw.since = now
		}
		var err error
		switch kind {
		case KindOpen:
			name := string(p)
			fw.setOpen(source, name, true)
			err = fw.w.Open(source, name)
		case KindData:
			err = fw.w.Data(source, recv, p)
		case KindClose:
			fw.setOpen(source, "", false)
			err = fw.w.Close(source, recv)
		}
		if err != nil {
			return err
		}
		fw.records++
		if fw.w.Size() >= fw.r.opts.MaxBytes {
			if err := fw.next(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (fw *fileWriter) setOpen(source uint16, name string, open bool) {
	fw.open = slices.DeleteFunc(fw.open, func(o Record) bool { return o.Source == source })
	if open {
		fw.open = append(fw.open, Record{Kind: KindOpen, Source: source, Name: name})
	}
}

// tick rotates an old file, writes a partial block (or pushes written
// blocks a Direct writer holds) that waited FlushEvery, and fsyncs blocks
// the sync policy left unsynced when it is due: with no new blocks coming
// the Writer would not do it.
func (fw *fileWriter) tick() error {
	w := fw.w
	if w == nil {
		return nil
	}
	if fw.records > 0 && time.Since(fw.opened) >= fw.r.opts.MaxAge {
		return fw.next()
	}
	every := fw.r.opts.FlushEvery
	due := w.pending() && time.Since(fw.since) >= every
	if at, ok := w.unpushed(); ok && time.Since(at) >= every {
		due = true
	}
	if due {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if s := fw.r.opts.Sync.Every; s > 0 && w.unsynced && time.Since(w.lastSync) >= s {
		return w.sync()
	}
	return nil
}

// next rotates: with no source open to re-announce, it only finishes the
// file, and the next record starts the next one, so that a feed gone quiet
// leaves no capture of a bare header behind.
func (fw *fileWriter) next() error {
	if len(fw.open) == 0 {
		return fw.finishFile()
	}
	return fw.rotate()
}

// rotate finishes the current file (if any) and starts the next one,
// re-announcing the open sources so the new file replays on its own.
func (fw *fileWriter) rotate() error {
	if err := fw.finishFile(); err != nil {
		return err
	}
	now := time.Now().UTC()
	if !now.After(fw.lastName) { // names must be unique and sort in time order
		now = fw.lastName.Add(time.Nanosecond)
	}
	fw.lastName = now
	name := filepath.Join(fw.r.opts.Dir, fmt.Sprintf("tickd-%s.%09d.cap", now.Format("20060102T150405"), now.Nanosecond()))
	w, err := Create(name, fw.r.opts.writerOptions(now))
	if err != nil {
		return err
	}
	fw.w, fw.opened, fw.records = w, now, 0
	fw.r.mu.Lock()
	fw.r.files = append(fw.r.files, name)
	fw.r.mu.Unlock()
	for _, o := range fw.open {
		if err := w.Open(o.Source, o.Name); err != nil {
			return err
		}
	}
	return nil
}

func (fw *fileWriter) finishFile() error {
	if fw.w == nil {
		return nil
	}
	w := fw.w
	fw.w = nil
	return w.Finish()
}

func (fw *fileWriter) finish() error {
	if err := fw.finishFile(); err != nil {
		return fw.r.fail(fw, err)
	}
	return nil
}
