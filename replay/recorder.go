package replay

import (
	"errors"
	"fmt"
	"io/fs"
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
	Direct    bool // where Dir takes O_DIRECT (NewRecorder tries it; see Recorder.Direct)

	// Buffer bounds the bytes waiting for the writer goroutine (and so
	// for the disk), over all sources; default 16 MiB. A source's feed
	// goroutine waits only while that much is waiting, counted in whole
	// chunks: a part-filled chunk a source sealed as it ended counts in
	// full. Each open source also holds the chunk it is filling:
	// Buffer/64, at least 16 KiB and at most 256 KiB.
	Buffer int
	// FlushEvery bounds how long a record waits in a partial block, or in
	// a Direct writer's staging buffer (what a crash can lose beyond the
	// buffer); default 1s.
	FlushEvery time.Duration
}

// The least RecorderOptions.MaxBytes and MaxAge (zero takes the default).
const (
	MinMaxBytes = 4096
	MinMaxAge   = time.Millisecond
)

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
	case o.MaxBytes < MinMaxBytes:
		return fmt.Errorf("replay: MaxBytes %d below %d", o.MaxBytes, MinMaxBytes)
	case o.MaxAge < MinMaxAge:
		return fmt.Errorf("replay: MaxAge %v below %v", o.MaxAge, MinMaxAge)
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
// Each source (one feed goroutine: a connection, a file, an ITCH session)
// gets a lane at Open: a single-producer, single-consumer queue of chunks
// whose producer is the source's goroutine and whose consumer is the writer
// goroutine (Run), a second reader of the bytes the decoder reads. A record
// costs the feed goroutine a copy into its chunk and one release store: no
// lock, no atomic read-modify-write, no wake-up. Chunks come from a shared
// pool; once Buffer bytes of sealed chunks wait for the writer (the disk
// is behind), a source needing a new chunk waits for one: recording never
// drops what a source read, it holds the source up, as the rings' gating
// holds a producer.
//
// The writer visits the lanes in turn, in the order the sources opened,
// and writes what each has committed. So records of one source keep their
// order in the capture, and sources interleave by the batch a visit takes.
// It sleeps for linger after a visit that found records, and longer when
// idle (up to maxIdle); a source wakes it only when it seals a chunk while
// the writer idles or an eighth of Buffer waits, or when it must wait
// itself.
type Recorder struct {
	opts       RecorderOptions
	lock       *os.File   // holds Dir for this Recorder until Run returns
	madeDir    string     // the outermost directory NewRecorder created for Dir ("" if Dir existed)
	recovered  []Recovery // captures in Dir a crash left unfinished, finished by NewRecorder
	chunkSize  int
	maxBacklog int64 // sealed chunks that may wait for the writer

	lanes   [256]atomic.Pointer[laneBlock] // source id -> its open lane, in two levels
	state   atomic.Int32                   // recording, stopped or failed
	backlog atomic.Int64                   // sealed chunks the writer has not given back
	idle    atomic.Bool                    // the writer found nothing last visit: a seal wakes it
	free    chan *chunk                    // chunks the writer gave back
	wake    chan struct{}
	done    chan struct{} // closed by Stop or a failure: releases waiting sources
	dropped atomic.Uint64 // records given after Stop, after a failure, or for no open source
	stalls  atomic.Uint64 // times a source waited for the writer

	mu      sync.Mutex // taken when a source opens or closes, and by the writer per visit; never per record
	open    []*lane    // lanes in open order, until the writer has read a closed one to its end
	files   []string
	err     error
	running bool
}

// laneBlock is the second level of the source-to-lane table.
type laneBlock [256]atomic.Pointer[lane]

// Recorder states.
const (
	recording int32 = iota
	stopped
	failed
)

// Writer pacing: linger after a visit that found records, so the next
// finds a batch; then back off when idle, up to maxIdle.
const (
	linger  = time.Millisecond
	maxIdle = 16 * time.Millisecond
)

// Record header in a chunk: kind u8, source u16, recv i64, len u32.
const recHdr = 15

// Chunk sizes: Buffer/chunksPerBuffer, clamped.
const (
	chunksPerBuffer = 64
	minChunk        = 16 << 10
	maxChunk        = 256 << 10
)

// NewRecorder checks opts and returns a Recorder; Run does the writing.
// The Recorder holds Dir (a lock file in it) until Run returns: a second
// Recorder on the directory is refused meanwhile, by this process or another.
// Holding it, NewRecorder finishes the captures a crashed recorder left
// there (Recovered).
func NewRecorder(opts RecorderOptions) (*Recorder, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	madeDir := outermostMissing(opts.Dir)
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := checkWritable(opts.Dir); err != nil {
		removeMadeDirs(opts.Dir, madeDir)
		return nil, err
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		removeMadeDirs(opts.Dir, madeDir)
		return nil, err
	}
	recovered := recoverDir(opts.Dir) // held: no recorder writes there now
	// Tried once here, so the caller can say how it records; a file
	// system that refuses O_DIRECT is written through the page cache.
	opts.Direct = opts.Direct && probeDirect(opts.Dir)
	size := min(max(opts.Buffer/chunksPerBuffer, minChunk), maxChunk)
	backlog := max(int64(opts.Buffer/size), 2)
	return &Recorder{
		opts:       opts,
		lock:       lock,
		madeDir:    madeDir,
		recovered:  recovered,
		chunkSize:  size,
		maxBacklog: backlog,
		free:       make(chan *chunk, backlog+64),
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}, nil
}

// outermostMissing returns the outermost of dir and its parents that does
// not exist, which MkdirAll(dir) would create; "" if dir exists.
func outermostMissing(dir string) string {
	missing := ""
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = d
		if filepath.Dir(d) == d {
			return missing
		}
	}
}

// removeMadeDirs removes dir and its parents up to made (what
// outermostMissing returned before they were created), each only while
// empty: a failed start leaves no directories behind, and never removes
// what someone put there meanwhile.
func removeMadeDirs(dir, made string) {
	if made == "" {
		return
	}
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if os.Remove(d) != nil || d == made || filepath.Dir(d) == d {
			return
		}
	}
}

// claim marks r running, once: Run and Abandon each end it, so a second
// of either (or both) fails with msg.
func (r *Recorder) claim(msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return errors.New(msg)
	}
	r.running = true
	return nil
}

// Abandon gives up a Recorder that has not run, when the start-up it was
// made for fails: it releases Dir and removes what NewRecorder made there
// (the lock file, and the directories it created while empty), so that a
// failed start leaves nothing behind. The Recorder cannot run afterwards.
func (r *Recorder) Abandon() error {
	if err := r.claim("replay: Recorder.Abandon after Run"); err != nil {
		return err
	}
	r.halt(stopped, nil)
	err := os.Remove(filepath.Join(r.opts.Dir, lockName)) // while held: no other recorder took it
	r.lock.Close()
	removeMadeDirs(r.opts.Dir, r.madeDir)
	return err
}

// checkWritable creates and removes a file in dir: a directory that cannot
// take capture files fails at start, not at the feed's first read.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".tickd-write-probe-*")
	if err != nil {
		return fmt.Errorf("replay: capture directory %s takes no files: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// lane returns the open lane of source, or nil.
func (r *Recorder) lane(source uint16) *lane {
	if b := r.lanes[source>>8].Load(); b != nil {
		return b[source&0xff].Load()
	}
	return nil
}

// setLane makes l (nil: none) the open lane of source. Under r.mu.
func (r *Recorder) setLane(source uint16, l *lane) {
	b := r.lanes[source>>8].Load()
	if b == nil {
		b = new(laneBlock)
		r.lanes[source>>8].Store(b)
	}
	b[source&0xff].Store(l)
}

// Open records that a source started. A name longer than a record may be
// (64 KiB, and what a chunk holds) is cut.
// A source opened again without a Close ends its earlier lane there.
func (r *Recorder) Open(source uint16, name string) {
	var c *chunk
	if r.state.Load() == recording {
		c = r.take()
	}
	if c == nil {
		r.dropped.Add(1)
		return
	}
	l := &lane{source: source, cur: c, read: c}
	name = name[:min(len(name), 1<<16-1, r.chunkSize-recHdr)]
	c.append(KindOpen, source, 0, nil, name)
	r.mu.Lock()
	if old := r.lane(source); old != nil {
		r.end(old)
	}
	r.setLane(source, l)
	r.open = append(r.open, l)
	r.mu.Unlock()
}

// Data records bytes read from a source at recv (ns since the Unix epoch).
// It copies b and waits only while Buffer bytes wait for the writer. Data
// larger than a chunk is stored as several records.
func (r *Recorder) Data(source uint16, recv int64, b []byte) {
	l := r.lane(source)
	if l == nil {
		r.dropped.Add(1)
		return
	}
	for most := r.chunkSize - recHdr; len(b) > most; b = b[most:] {
		r.put(l, KindData, recv, b[:most])
	}
	r.put(l, KindData, recv, b)
}

// Close records that a source ended at recv.
func (r *Recorder) Close(source uint16, recv int64) {
	l := r.lane(source)
	if l == nil {
		r.dropped.Add(1)
		return
	}
	r.put(l, KindClose, recv, nil)
	r.mu.Lock()
	r.setLane(source, nil)
	r.end(l)
	r.mu.Unlock()
}

// put appends one record to l, taking a new chunk when it does not fit.
func (r *Recorder) put(l *lane, kind Kind, recv int64, a []byte) {
	if r.state.Load() != recording {
		r.dropped.Add(1)
		return
	}
	c := l.cur
	if n := recHdr + len(a); !c.room(n) {
		next := r.take()
		if next == nil {
			r.dropped.Add(1)
			return
		}
		c.next.Store(next)
		r.seal(c)
		l.cur, c = next, next
	}
	c.append(kind, l.source, recv, a, "")
}

// end seals l's last chunk, with nothing linked behind it: the writer
// retires the lane once it has read it. Called by the lane's producer.
func (r *Recorder) end(l *lane) { r.seal(l.cur) }

// seal hands a chunk the producer is done with to the writer's backlog,
// waking the writer when it idles or an eighth of Buffer waits.
func (r *Recorder) seal(c *chunk) {
	c.sealed.Store(true)
	if r.backlog.Add(1) >= max(r.maxBacklog/8, 1) || r.idle.Load() {
		r.signal()
	}
}

// take returns an empty chunk: from the pool, newly made while the chunks
// are held by sources rather than waiting for the disk, or else the next
// one the writer gives back. nil once the recorder stopped or failed.
func (r *Recorder) take() *chunk {
	var c *chunk
	select {
	case c = <-r.free:
	default:
		if r.backlog.Load() < r.maxBacklog {
			return &chunk{buf: make([]byte, r.chunkSize)}
		}
		r.stalls.Add(1)
		r.signal()
		select {
		case c = <-r.free:
		case <-r.done:
			return nil
		}
	}
	c.reset()
	return c
}

// give returns a chunk the writer has read to its end to the pool.
func (r *Recorder) give(c *chunk) {
	r.backlog.Add(-1)
	select {
	case r.free <- c:
	default: // the pool is full: let it go
	}
}

func (r *Recorder) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Stop ends recording: records given after it are dropped, and Run writes
// what the sources committed before it, finishes the current file and
// returns. (A record racing with Stop may be neither written nor counted.)
func (r *Recorder) Stop() { r.halt(stopped, nil) }

// halt moves the recorder out of recording, once, and releases waiting
// sources.
func (r *Recorder) halt(to int32, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && r.err == nil {
		r.err = err
	}
	if r.state.CompareAndSwap(recording, to) {
		close(r.done)
	}
	r.signal()
}

// Recovered returns the captures NewRecorder found unfinished in Dir (a
// crashed recorder's: no sidecar index) and finished: a torn tail cut off,
// the index written.
func (r *Recorder) Recovered() []Recovery { return r.recovered }

// Direct reports whether captures are written with O_DIRECT: asked for
// (RecorderOptions.Direct) and taken by the directory's file system.
func (r *Recorder) Direct() bool { return r.opts.Direct }

// Files returns the capture files created so far, oldest first.
func (r *Recorder) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.files)
}

// Dropped returns how many records were given after Stop or a write
// error (or for a source not open).
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Stalls returns how many times a source had to wait for the writer: each
// is a time the feed was held up because the disk fell behind.
func (r *Recorder) Stalls() uint64 { return r.stalls.Load() }

// Err returns the write error that stopped the recorder, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
