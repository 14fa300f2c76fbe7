package replay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// RecorderOptions configure NewRecorder.
type RecorderOptions struct {
	Dir      string        // required: where capture files are created
	Format   string        // required: the feed format ("native", "csv", "json", "itch")
	MaxBytes int64         // rotate when a file reaches this size; default 1 GiB
	MaxAge   time.Duration // rotate when a file is this old; default 1h

	// Per-file writer options (see WriterOptions).
	Compress  bool
	Sync      SyncPolicy
	BlockSize int
	Direct    bool // where Dir takes O_DIRECT (NewRecorder tries it; see Recorder.Direct)

	// Buffer is the bytes of in-memory buffer between the callers and the
	// writer goroutine (two halves, swapped); default 16 MiB. Callers block
	// only while it is full.
	Buffer int
	// FlushEvery bounds how long a record waits in a partial block, or in
	// a Direct writer's staging buffer (what a crash can lose beyond the
	// buffer); default 1s.
	FlushEvery time.Duration
}

func (o *RecorderOptions) setDefaults() error {
	if o.Dir == "" {
		return errors.New("replay: recorder needs a Dir")
	}
	wo := o.writerOptions(time.Now())
	if err := wo.setDefaults(); err != nil {
		return err
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 1 << 30
	}
	if o.MaxAge == 0 {
		o.MaxAge = time.Hour
	}
	if o.Buffer == 0 {
		o.Buffer = 16 << 20
	}
	if o.FlushEvery == 0 {
		o.FlushEvery = time.Second
	}
	switch {
	case o.MaxBytes < 4096:
		return fmt.Errorf("replay: MaxBytes %d below 4096", o.MaxBytes)
	case o.MaxAge < time.Millisecond:
		return fmt.Errorf("replay: MaxAge %v below 1ms", o.MaxAge)
	case o.Buffer < 64<<10:
		return fmt.Errorf("replay: Buffer %d below 64 KiB", o.Buffer)
	case o.FlushEvery < time.Millisecond:
		return fmt.Errorf("replay: FlushEvery %v below 1ms", o.FlushEvery)
	}
	return nil
}

func (o *RecorderOptions) writerOptions(start time.Time) WriterOptions {
	return WriterOptions{Format: o.Format, Start: start, BlockSize: o.BlockSize, Compress: o.Compress, Sync: o.Sync, Direct: o.Direct}
}

// Recorder writes what the feed sources read to rotating capture files,
// losslessly and off the feed goroutines. It satisfies feed.Tap.
//
// Callers (one goroutine per feed connection, any number) append each
// record to the current half of a double buffer under a mutex: one short
// critical section and a copy per call, no allocation. The writer goroutine
// (Run) swaps the halves and writes the full one while callers fill the
// other, so a caller blocks only when its half is full before the writer
// has finished the other (the disk is slower than the feed). A mutex beats
// per-source SPSC rings here: callers are few and rarely collide, and one
// buffer keeps the records of all sources in arrival order.
//
// Waking the writer is a futex call on the feed goroutine's core, so a
// caller wakes it only when it sleeps idle (the first record after a quiet
// spell) or when a quarter of a half has piled up. Otherwise the writer
// lingers: it comes back on its own timer (linger) and takes what arrived,
// so under a steady feed the callers make almost no wake-ups.
type Recorder struct {
	opts RecorderOptions

	mu      sync.Mutex
	notFull sync.Cond // callers wait here while the buffer is full
	cur     []byte    // records waiting for the writer
	half    int       // len(cur) beyond which callers wait
	parked  parking   // how the writer sleeps, and so what wakes it
	wakeAt  int       // len(cur) at which a lingering writer is woken
	stopped bool
	err     error  // the writer failed; records are dropped
	dropped uint64 // records given after Stop or a failure
	stalls  uint64 // puts that waited for the writer (the disk fell behind)
	files   []string
	wake    chan struct{}
	running bool
}

// parking is the writer's sleep state, which decides whether put wakes it.
type parking uint8

const (
	awake     parking = iota // writing, or about to look at cur
	idle                     // cur was empty: the next record wakes it
	lingering                // cur held a little: wake only at wakeAt
)

// linger is how long the writer leaves a small batch to grow.
const linger = time.Millisecond

// Record header in the recorder's buffer: kind u8, source u16, recv i64, len u32.
const recHdr = 15

// NewRecorder checks opts and returns a Recorder; Run does the writing.
func NewRecorder(opts RecorderOptions) (*Recorder, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	// Tried once here, so the caller can say how it records; a file
	// system that refuses O_DIRECT is written through the page cache.
	opts.Direct = opts.Direct && probeDirect(opts.Dir)
	r := &Recorder{
		opts:   opts,
		half:   opts.Buffer / 2,
		wakeAt: opts.Buffer / 8,
		cur:    make([]byte, 0, opts.Buffer/2),
		wake:   make(chan struct{}, 1),
	}
	r.notFull.L = &r.mu
	return r, nil
}

// put appends one record, waiting for room.
func (r *Recorder) put(kind Kind, source uint16, recv int64, a []byte, s string) {
	need := recHdr + len(a) + len(s)
	r.mu.Lock()
	// An empty buffer takes any record, so a record larger than a half
	// never waits forever.
	if r.full(need) {
		r.stalls++
		for r.full(need) {
			r.notFull.Wait()
		}
	}
	if r.stopped || r.err != nil {
		r.dropped++
		r.mu.Unlock()
		return
	}
	var h [recHdr]byte
	h[0] = byte(kind)
	binary.LittleEndian.PutUint16(h[1:], source)
	binary.LittleEndian.PutUint64(h[3:], uint64(recv))
	binary.LittleEndian.PutUint32(h[11:], uint32(len(a)+len(s)))
	r.cur = append(r.cur, h[:]...)
	r.cur = append(r.cur, a...)
	r.cur = append(r.cur, s...)
	if r.parked == idle || (r.parked == lingering && len(r.cur) >= r.wakeAt) {
		r.parked = awake
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
}

// full reports whether a record of need bytes must wait for the writer.
func (r *Recorder) full(need int) bool {
	return len(r.cur) > 0 && len(r.cur)+need > r.half && !r.stopped && r.err == nil
}

// Open records that a source started. A name longer than 64 KiB is cut.
func (r *Recorder) Open(source uint16, name string) {
	r.put(KindOpen, source, 0, nil, name[:min(len(name), 1<<16-1)])
}

// Data records bytes read from a source at recv (ns since the Unix epoch).
// It copies b and blocks only while the buffer is full. Data larger than
// MaxData is stored as several records.
func (r *Recorder) Data(source uint16, recv int64, b []byte) {
	for len(b) > MaxData {
		r.put(KindData, source, recv, b[:MaxData], "")
		b = b[MaxData:]
	}
	r.put(KindData, source, recv, b, "")
}

// Close records that a source ended at recv.
func (r *Recorder) Close(source uint16, recv int64) { r.put(KindClose, source, recv, nil, "") }

// Stop ends recording: records given after it are dropped, and Run writes
// what is buffered, finishes the current file and returns.
func (r *Recorder) Stop() {
	r.mu.Lock()
	r.stopped = true
	r.notFull.Broadcast()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	r.mu.Unlock()
}

// Direct reports whether captures are written with O_DIRECT: asked for
// (RecorderOptions.Direct) and taken by the directory's file system.
func (r *Recorder) Direct() bool { return r.opts.Direct }

// Files returns the capture files created so far, oldest first.
func (r *Recorder) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.files)
}

// Dropped returns how many records were given after Stop or a write error.
func (r *Recorder) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Stalls returns how many records had to wait for room: each is a time the
// feed was held up because the disk fell behind.
func (r *Recorder) Stalls() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stalls
}

// Err returns the write error that stopped the recorder, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

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

// Run is the writer goroutine: it writes the buffered records until Stop
// (or ctx is done, which stops the recorder the same way), then writes what
// is left, finishes the current file with its index and returns nil. It
// returns the first write error, after which records are dropped.
func (r *Recorder) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("replay: Recorder.Run called twice")
	}
	r.running = true
	r.mu.Unlock()

	fw := &fileWriter{r: r}
	tick := time.NewTicker(min(r.opts.FlushEvery, r.opts.MaxAge))
	defer tick.Stop()
	spare := make([]byte, 0, r.half)
	done := ctx.Done()
	grow := time.NewTimer(linger)
	defer grow.Stop()
	lingered := false // the last sleep was a linger that ran out
	for {
		r.mu.Lock()
		if !r.stopped && (len(r.cur) == 0 || (len(r.cur) < r.wakeAt && !lingered)) {
			var grown <-chan time.Time
			if r.parked = idle; len(r.cur) > 0 {
				r.parked = lingering
				grow.Reset(linger)
				grown = grow.C
			}
			r.mu.Unlock()
			lingered = false
			select {
			case <-r.wake:
			case <-grown:
				lingered = true
			case <-tick.C:
				if err := fw.tick(); err != nil {
					return r.fail(fw, err)
				}
			case <-done:
				done = nil
				r.Stop()
			}
			continue
		}
		batch, stopped := r.cur, r.stopped
		r.cur, spare = spare[:0], nil
		r.parked, lingered = awake, false
		r.notFull.Broadcast()
		r.mu.Unlock()

		if err := fw.write(batch); err != nil {
			return r.fail(fw, err)
		}
		spare = batch[:0]
		if stopped && len(batch) == 0 {
			return fw.finish()
		}
		if len(batch) > 0 {
			// Check time limits between batches too: under steady load the
			// ticker case above never runs.
			select {
			case <-tick.C:
				if err := fw.tick(); err != nil {
					return r.fail(fw, err)
				}
			default:
			}
		}
	}
}

func (r *Recorder) fail(fw *fileWriter, err error) error {
	r.mu.Lock()
	r.err = err
	r.cur = r.cur[:0]
	r.notFull.Broadcast()
	r.mu.Unlock()
	if fw.w != nil {
		fw.w.Finish() // keep what can be kept; err is the one to report
		fw.w = nil
	}
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
			if err := fw.rotate(); err != nil {
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
		return fw.rotate()
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
