package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Tail follows the file at path like `tail -F` and feeds it to one Sink
// (source name: path). It reads the file from the start (with
// Options.FromEnd, a file already there is read after its last whole line
// or frame: what comes before is read at start-up without publishing any of
// it, for the native Symbol frames, sequence and line numbers that what
// follows depends on), then polls every PollInterval for appended bytes,
// holding a partial last line or frame until it is completed. A file that
// shrinks below the read position was truncated: reading restarts at 0. A
// new file at path (rename + create) is a rotation: the old file is read to
// its end, its unterminated last line decoded, and the new file followed
// from its start. Both are reported (SourceTailRestart). A path that does
// not exist yet is waited for (reported once). Sequence numbers and line
// numbers restart with each file. A FIFO is read as its writers write, and
// need not have one.
//
// Tail returns nil once ctx is done or the sink shuts down, after closing
// the sink; an error for bad arguments, if path is a directory, or if a
// native length prefix breaks the framing (already reported to OnError).
// A path that cannot be opened or read otherwise is reported
// (*SourceError) and retried.
func Tail(ctx context.Context, path string, open SinkOpener, opts Options) error {
	if open == nil {
		return errors.New("feed: Tail: nil SinkOpener")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	sink, err := open(path)
	if err != nil {
		if ctx.Err() != nil { // a shutdown that came first: the engine refuses new inputs
			return nil
		}
		return fmt.Errorf("feed: %s: open sink: %w", path, err)
	}
	t := &tailer{path: path, o: &o, p: newPump(path, sink, &o)}
	defer t.p.close()
	err = t.run(ctx)
	if t.f != nil {
		t.f.Close()
	}
	if errors.Is(err, errSinkDone) {
		return nil
	}
	return err
}

// errTailDir stops a tail whose path is a directory: there is no file to
// follow, and polling would not make one.
var errTailDir = errors.New("is a directory, not a file to follow")

type tailer struct {
	path  string
	o     *Options
	p     *pump
	f     *os.File // the file being read; nil while waiting for one
	pos   int64    // bytes of f read so far
	pipe  bool     // f is a FIFO: its reads wait in the poller, for PollInterval at most
	timer *time.Timer
	// missing: the path's absence has been reported since a file was
	// last open (once: waiting for a file is no failure to repeat).
	missing bool
}

func (t *tailer) run(ctx context.Context) error {
	t.timer = time.NewTimer(t.o.PollInterval)
	defer t.timer.Stop()
	first := true
	for ctx.Err() == nil {
		if t.f == nil {
			// FromEnd applies to a file there at the start: one that
			// appears later is new, and read whole.
			err := t.openFile(first)
			first = false
			if errors.Is(err, errTailDir) {
				return err
			}
			if err != nil {
				t.openFailed(err)
				if !t.wait(ctx) {
					return nil
				}
				continue
			}
		}
		n, err := t.read()
		if n > 0 {
			t.pos += int64(n)
			if err := t.p.ingest(n); err != nil {
				return err
			}
			continue
		}
		if err != nil && err != io.EOF {
			t.o.sourceError(t.path, t.pos, SourceTailRead, fmt.Errorf("feed: %s: read: %w", t.path, err))
		}
		switch rotated, err := t.atEOF(); {
		case err != nil:
			return err
		case rotated:
			continue // the new file is opened at once
		}
		if !t.wait(ctx) {
			return nil
		}
	}
	return nil
}

// openFailed reports why path could not be opened: every time, but a path
// that does not exist (yet) only once, so that a misspelt path is not
// waited for in silence.
func (t *tailer) openFailed(err error) {
	if !errors.Is(err, fs.ErrNotExist) {
		t.o.sourceError(t.path, 0, SourceTailRead, err)
		return
	}
	if !t.missing {
		t.missing = true
		t.o.sourceError(t.path, 0, SourceTailRead, fmt.Errorf("feed: %w: waiting for it", err))
	}
}

// openFile opens path, at its start, or for the first file with FromEnd
// after its last whole line or frame (skipTo).
func (t *tailer) openFile(first bool) error {
	// Non-blocking, so that a FIFO without a writer does not hold the open
	// (and a shutdown) until one comes; a regular file reads as ever.
	f, err := os.OpenFile(t.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		f.Close()
		return fmt.Errorf("feed: %s: %w", t.path, errTailDir)
	}
	t.f, t.pos, t.missing = f, 0, false
	t.pipe = f.SetReadDeadline(time.Time{}) == nil // only the poller's files take deadlines
	t.p.restart()
	if !first || !t.o.FromEnd || err != nil { // (no size: read from the start)
		return nil
	}
	if err := t.skipTo(fi.Size()); err != nil {
		t.o.sourceError(t.path, t.pos, SourceTailRead, fmt.Errorf("feed: %s: %w", t.path, err))
	}
	t.p.tapSkipped()
	return nil
}

// skipTo reads the file's first size bytes through Decoder.skip (FromEnd):
// none of them is published or counted, but the decoder goes on from them
// as if it had decoded them (native Symbol frames and sequence, the line
// count), so that the frames and lines appended later resolve their
// symbols and are named by their line. Reading resumes after the last whole
// frame or line: a partial one is read again whole.
func (t *tailer) skipTo(size int64) error {
	p := t.p
	var err error
	for read := int64(0); read < size && err == nil; {
		space := p.space()
		var n int
		n, err = t.f.Read(space[:min(int64(len(space)), size-read)])
		read += int64(n)
		p.hi += n
		p.lo += p.dec.skip(p.buf[p.lo:p.hi])
		if p.dec.ready(p.buf[p.lo:p.hi]) {
			break // a length prefix beyond MaxFrame: reading reports it
		}
	}
	p.lo, p.hi = 0, 0
	t.pos = p.dec.Offset()
	if _, serr := t.f.Seek(t.pos, io.SeekStart); serr != nil {
		return serr
	}
	if err == io.EOF { // the file shrank meanwhile: atEOF will see it
		err = nil
	}
	return err
}

// read reads the file into the pump's free space. A FIFO's read waits for
// PollInterval at most, as a regular file is polled, so that a writer that
// keeps it open in silence cannot hold the tail past its context.
func (t *tailer) read() (int, error) {
	if t.pipe {
		t.f.SetReadDeadline(time.Now().Add(t.o.PollInterval))
	}
	n, err := t.f.Read(t.p.space())
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = io.EOF // nothing written yet
	}
	return n, err
}

// atEOF checks, with nothing more to read, whether the file was truncated
// (restart at 0) or replaced at path (finish it, switch to the new one).
func (t *tailer) atEOF() (rotated bool, err error) {
	cur, err1 := t.f.Stat()
	now, err2 := os.Stat(t.path)
	if err1 == nil && err2 == nil && !os.SameFile(cur, now) {
		if err := t.finish(); err != nil {
			return false, err
		}
		t.restarted(fmt.Errorf("feed: %s: replaced (rotated) after %d bytes: following the new file from its start", t.path, t.pos))
		return true, nil
	}
	// A missing path keeps the old file: the new one may not be there yet.
	// (A FIFO has no size and no position to go back to.)
	if err1 == nil && cur.Mode().IsRegular() && cur.Size() < t.pos {
		if _, err := t.f.Seek(0, io.SeekStart); err == nil {
			t.restarted(fmt.Errorf("feed: %s: truncated to %d bytes below the %d read: reading it again from its start", t.path, cur.Size(), t.pos))
			t.pos = 0
			t.p.restart()
		}
	}
	return false, nil
}

// restarted reports that the file is read again from its start, as tail -F
// says so: lines may be read twice (a truncation, then the same content) or
// lost (written between a copy and a truncation).
func (t *tailer) restarted(err error) {
	t.o.sourceError(t.path, t.pos, SourceTailRestart, err)
}

// finish reads a rotated-away file to its end, flushes its last line and
// closes it.
func (t *tailer) finish() error {
	for {
		n, err := t.read()
		if n > 0 {
			t.pos += int64(n)
			if err := t.p.ingest(n); err != nil {
				return err
			}
		}
		if err != nil {
			break
		}
	}
	t.p.end()
	t.f.Close()
	t.f = nil
	return nil
}

func (t *tailer) wait(ctx context.Context) bool {
	t.timer.Reset(t.o.PollInterval)
	select {
	case <-ctx.Done():
		return false
	case <-t.timer.C:
		return true
	}
}
