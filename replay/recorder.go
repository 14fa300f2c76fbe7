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
	"sync/atomic"
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

	// Buffer is the bytes of in-memory buffer between the callers and the
	// writer goroutine (two halves, swapped); default 16 MiB. Callers block
	// only while it is full.
	Buffer int
	// FlushEvery bounds how long a record waits in a partial block (what a
	// crash can lose beyond the buffer); default 1s.
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
	return WriterOptions{Format: o.Format, Start: start, BlockSize: o.BlockSize, Compress: o.Compress, Sync: o.Sync}
}

// Recorder writes what the feed sources read to rotating capture files,
// losslessly and off the feed goroutines. It satisfies feed.Tap.
//
// Callers (one goroutine per feed connection, any number) append each
// record to the current half of a double buffer under a mutex: one short
// critical section and a copy per call, no allocation. A feed pump lends
// its reads instead (Lend, see feed.LendingTap): its record in the buffer
// is a header and a reference, and the writer copies the bytes and returns
// the loan, so the feed goroutine copies nothing. The writer goroutine
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
	stalls  uint64 // puts and WaitReturned calls that waited for the writer
	files   []string
	wake    chan struct{}
	running bool

	// Lent reads (Lend): their bytes stay with the caller until the writer
	// has copied them into a block. Each is a header in cur with no
	// payload, and an entry here in the same order.
	loans     []loan
	lentBytes int           // bytes of loans, counted with len(cur)
	tickets   uint64        // the last ticket handed out
	taken     uint64        // the last ticket the writer has taken from cur
	want      uint64        // the largest ticket a caller waits for
	returned  atomic.Uint64 // every ticket up to this one is returned
	waiters   atomic.Int32  // callers in WaitReturned's slow path
	back      sync.Cond     // WaitReturned waits here
}

// loan is one lent read waiting for the writer.
type loan struct {
	b      []byte
	ticket uint64
}

// lentFlag marks a Data header in cur whose bytes are the next loan.
const lentFlag = 0x80

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
	r := &Recorder{
		opts:   opts,
		half:   opts.Buffer / 2,
		wakeAt: opts.Buffer / 8,
		cur:    make([]byte, 0, opts.Buffer/2),
		wake:   make(chan struct{}, 1),
	}
	r.notFull.L = &r.mu
	r.back.L = &r.mu
	return r, nil
}

// put appends one record, waiting for room. With lend, a is kept by
// reference, and put returns its ticket (0: dropped).
func (r *Recorder) put(kind Kind, source uint16, recv int64, a []byte, s string, lend bool) uint64 {
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
		return 0
	}
	var h [recHdr]byte
	h[0] = byte(kind)
	binary.LittleEndian.PutUint16(h[1:], source)
	binary.LittleEndian.PutUint64(h[3:], uint64(recv))
	binary.LittleEndian.PutUint32(h[11:], uint32(len(a)+len(s)))
	var ticket uint64
	if lend {
		r.tickets++
		ticket = r.tickets
		h[0] |= lentFlag
		r.loans = append(r.loans, loan{a, ticket})
		r.lentBytes += len(a)
		r.cur = append(r.cur, h[:]...)
	} else {
		r.cur = append(r.cur, h[:]...)
		r.cur = append(r.cur, a...)
		r.cur = append(r.cur, s...)
	}
	if r.parked == idle || (r.parked == lingering && r.size() >= r.wakeAt) {
		r.wakeWriter()
	}
	r.mu.Unlock()
	return ticket
}

// wakeWriter wakes a parked writer; r.mu is held.
func (r *Recorder) wakeWriter() {
	r.parked = awake
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// size is the bytes waiting for the writer, lent ones included; r.mu is held.
func (r *Recorder) size() int { return len(r.cur) + r.lentBytes }

// full reports whether a record of need bytes must wait for the writer.
func (r *Recorder) full(need int) bool {
	return r.size() > 0 && r.size()+need > r.half && !r.stopped && r.err == nil
}

// Open records that a source started. A name longer than 64 KiB is cut.
func (r *Recorder) Open(source uint16, name string) {
	r.put(KindOpen, source, 0, nil, name[:min(len(name), 1<<16-1)], false)
}

// Data records bytes read from a source at recv (ns since the Unix epoch).
// It copies b and blocks only while the buffer is full. Data larger than
// MaxData is stored as several records.
func (r *Recorder) Data(source uint16, recv int64, b []byte) {
	for len(b) > MaxData {
		r.put(KindData, source, recv, b[:MaxData], "", false)
		b = b[MaxData:]
	}
	r.put(KindData, source, recv, b, "", false)
}

// Lend records b like Data but does not copy it: the writer goroutine
// copies it into its block, then returns the ticket (see feed.LendingTap).
// The caller must not change b until WaitReturned(ticket) has returned.
// Lent reads count toward the buffer as copied ones do, and Lend blocks
// while it is full. It returns 0 when the read was dropped (after Stop or
// a write error). Lending needs Run running, or the loans never return.
func (r *Recorder) Lend(source uint16, recv int64, b []byte) uint64 {
	var ticket uint64
	for len(b) > MaxData {
		ticket = max(ticket, r.put(KindData, source, recv, b[:MaxData], "", true))
		b = b[MaxData:]
	}
	return max(ticket, r.put(KindData, source, recv, b, "", true))
}

// Returned reports whether the writer is done with the loan ticket.
func (r *Recorder) Returned(ticket uint64) bool { return r.returned.Load() >= ticket }

// WaitReturned blocks until the writer is done with the loan ticket and
// every earlier one, waking the writer if the loan still waits for it.
// After Stop has been drained or a write error, every loan is returned.
func (r *Recorder) WaitReturned(ticket uint64) {
	if r.Returned(ticket) {
		return
	}
	r.mu.Lock()
	r.waiters.Add(1) // under mu: the writer then broadcasts after we Wait
	if r.returned.Load() < ticket {
		r.stalls++
		if ticket > r.taken {
			r.want = max(r.want, ticket)
			if r.parked != awake {
				r.wakeWriter()
			}
		}
		for r.returned.Load() < ticket {
			r.back.Wait()
		}
	}
	r.waiters.Add(-1)
	r.mu.Unlock()
}

// giveBack returns every ticket up to t and wakes any caller waiting.
func (r *Recorder) giveBack(t uint64) {
	r.returned.Store(t)
	if r.waiters.Load() > 0 {
		r.mu.Lock()
		r.back.Broadcast()
		r.mu.Unlock()
	}
}

// Close records that a source ended at recv.
func (r *Recorder) Close(source uint16, recv int64) { r.put(KindClose, source, recv, nil, "", false) }

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

// Stalls returns how many records had to wait for room, and how many
// WaitReturned calls had to wait for the writer: each is a time the feed
// was held up because the writer fell behind.
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
	var spareLoans []loan
	done := ctx.Done()
	grow := time.NewTimer(linger)
	defer grow.Stop()
	lingered := false // the last sleep was a linger that ran out
	for {
		r.mu.Lock()
		if !r.stopped && r.want <= r.taken && (r.size() == 0 || (r.size() < r.wakeAt && !lingered)) {
			var grown <-chan time.Time
			if r.parked = idle; r.size() > 0 {
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
		batch, loans, stopped := r.cur, r.loans, r.stopped
		r.cur, spare = spare[:0], nil
		r.loans, spareLoans = spareLoans[:0], nil
		r.lentBytes, r.taken = 0, r.tickets
		r.parked, lingered = awake, false
		r.notFull.Broadcast()
		r.mu.Unlock()

		if err := fw.write(batch, loans); err != nil {
			return r.fail(fw, err)
		}
		spare = batch[:0]
		clear(loans) // let go of the callers' buffers
		spareLoans = loans[:0]
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
	clear(r.loans)
	r.loans, r.lentBytes = r.loans[:0], 0
	r.returned.Store(r.tickets) // dropped loans are returned too: no caller waits forever
	r.notFull.Broadcast()
	r.back.Broadcast()
	r.mu.Unlock()
	if fw.w != nil {
		fw.w.Finish() // keep what can be kept; err is the one to report
		fw.w = nil
	}
	return err
}

// write writes a batch of buffered records and the loans among them,
// returning each loan once its bytes are copied into the Writer.
func (fw *fileWriter) write(b []byte, loans []loan) error {
	now := time.Now()
	for len(b) > 0 {
		kind := Kind(b[0])
		source := binary.LittleEndian.Uint16(b[1:])
		recv := int64(binary.LittleEndian.Uint64(b[3:]))
		n := int(binary.LittleEndian.Uint32(b[11:]))
		var ln *loan
		var p []byte
		if kind&lentFlag != 0 {
			kind &^= lentFlag
			ln, loans = &loans[0], loans[1:]
			p = ln.b
			b = b[recHdr:]
		} else {
			p = b[recHdr : recHdr+n]
			b = b[recHdr+n:]
		}
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
			err = fw.w.Data(source, recv, p) // copies p
			if ln != nil && err == nil {
				fw.r.giveBack(ln.ticket)
			}
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

// tick rotates an old file, writes a partial block that waited FlushEvery
// and fsyncs blocks the sync policy left unsynced when it is due: with no
// new blocks coming the Writer would not do it.
func (fw *fileWriter) tick() error {
	w := fw.w
	if w == nil {
		return nil
	}
	if fw.records > 0 && time.Since(fw.opened) >= fw.r.opts.MaxAge {
		return fw.rotate()
	}
	if w.pending() && time.Since(fw.since) >= fw.r.opts.FlushEvery {
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
