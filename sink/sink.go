package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
)

// Store is where a Sink writes. Write stores msgs (only *bus.Signal and
// *bus.Bar) all or nothing, skipping any (publisher, seq, ts_pub) it
// already holds, and returns how many rows were new. It must not keep msgs
// after returning. Write and Close are called from one goroutine.
type Store interface {
	Write(ctx context.Context, msgs []bus.Message) (written int, err error)
	Close() error
}

// Defaults of Options.
const (
	DefaultBatchSize      = 512
	DefaultFlushInterval  = 200 * time.Millisecond
	DefaultMaxBuffer      = 100_000
	DefaultRetryMin       = 100 * time.Millisecond
	DefaultRetryMax       = 5 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultDrainTimeout   = 5 * time.Second
	DefaultReportInterval = time.Second
)

// Options configures a Sink. The zero value is usable.
type Options struct {
	// BatchSize is the most rows one Store.Write gets; default DefaultBatchSize.
	BatchSize int
	// FlushInterval bounds how long a row waits for its batch to fill.
	FlushInterval time.Duration
	// MaxBuffer bounds the rows held in memory while the store is slow or
	// away. Offer drops (and counts as Overflow) beyond it; Put waits.
	MaxBuffer int
	// RetryMin and RetryMax bound the backoff between failed writes; it
	// doubles per failure and resets on success.
	RetryMin, RetryMax time.Duration
	// WriteTimeout bounds one Store.Write, so a hung connection is retried.
	WriteTimeout time.Duration
	// DrainTimeout bounds the last writes after Run's context ends.
	DrainTimeout time.Duration
	// OnReport, if set, is called from Run's goroutine when a write failed,
	// rows overflowed or invalid messages arrived, at most once per
	// ReportInterval (and once more when writes succeed again after a
	// failure, with err nil, preceded by the failure's error if no report
	// has carried it yet), so an outage costs a log line a second.
	OnReport func(c Counters, err error)
	// ReportInterval; default DefaultReportInterval.
	ReportInterval time.Duration
}

func (o *Options) applyDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxBuffer == 0 {
		o.MaxBuffer = DefaultMaxBuffer
	}
	def(&o.FlushInterval, DefaultFlushInterval)
	def(&o.RetryMin, DefaultRetryMin)
	def(&o.RetryMax, DefaultRetryMax)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.DrainTimeout, DefaultDrainTimeout)
	def(&o.ReportInterval, DefaultReportInterval)
}

func (o *Options) validate() error {
	switch {
	case o.BatchSize < 1:
		return fmt.Errorf("sink: batch size %d is not positive", o.BatchSize)
	case o.MaxBuffer < o.BatchSize:
		return fmt.Errorf("sink: buffer %d is smaller than a batch (%d)", o.MaxBuffer, o.BatchSize)
	case o.FlushInterval < 0 || o.RetryMin < 0 || o.WriteTimeout < 0 || o.DrainTimeout < 0 || o.ReportInterval < 0:
		return errors.New("sink: negative duration in options")
	case o.RetryMax < o.RetryMin:
		return fmt.Errorf("sink: retry max %s below retry min %s", o.RetryMax, o.RetryMin)
	}
	return nil
}

// Counters are a Sink's running totals.
type Counters struct {
	Received   uint64 // signals and bars offered
	Written    uint64 // rows the store took as new
	Duplicates uint64 // rows the store already held (a redelivery or a replay)
	Overflow   uint64 // rows dropped because the buffer was full (Offer only)
	Invalid    uint64 // payloads that did not decode
	Skipped    uint64 // valid messages of other kinds (stats, BBO)
	Failures   uint64 // failed Store.Write calls (each is retried)
	Buffered   uint64 // rows waiting now
}

// item is one buffered row and what to do once it is stored.
type item struct {
	msg bus.Message
	ack func()
}

// Sink batches signals and bars into a Store. Any goroutine may Offer or
// Put; one goroutine runs Run, which writes batches in arrival order and
// retries a failed batch (the same rows, first) until it is stored.
type Sink struct {
	store Store
	opts  Options

	mu  sync.Mutex
	buf []item // arrival order; rows leave from the head once stored

	full  chan struct{} // a batch is ready
	space chan struct{} // rows left the buffer

	received, written, duplicates, overflow, invalid, skipped, failures atomic.Uint64

	running atomic.Bool // a Run is under way: a second at once would write to the Store concurrently
}

// New returns a Sink writing to store.
func New(store Store, opts Options) (*Sink, error) {
	if store == nil {
		return nil, errors.New("sink: nil store")
	}
	opts.applyDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Sink{store: store, opts: opts, full: make(chan struct{}, 1), space: make(chan struct{}, 1)}, nil
}

// Counters returns the running totals.
func (s *Sink) Counters() Counters {
	s.mu.Lock()
	n := len(s.buf)
	s.mu.Unlock()
	return Counters{Received: s.received.Load(), Written: s.written.Load(), Duplicates: s.duplicates.Load(),
		Overflow: s.overflow.Load(), Invalid: s.invalid.Load(), Skipped: s.skipped.Load(),
		Failures: s.failures.Load(), Buffered: uint64(n)}
}

// keep reports whether m is a row for the store, counting it otherwise.
func (s *Sink) keep(m bus.Message) bool {
	switch m.Kind() {
	case bus.KindSignal, bus.KindBar:
		s.received.Add(1)
		return true
	case bus.KindInvalid:
		s.invalid.Add(1)
	default:
		s.skipped.Add(1)
	}
	return false
}

// Offer buffers m without waiting. It returns false when m was not
// buffered: not a signal or bar (counted as Invalid or Skipped), or the
// buffer is full (counted as Overflow: the row is lost).
func (s *Sink) Offer(m bus.Message) bool {
	if !s.keep(m) {
		return false
	}
	s.mu.Lock()
	if len(s.buf) >= s.opts.MaxBuffer {
		s.mu.Unlock()
		s.overflow.Add(1)
		return false
	}
	s.buf = append(s.buf, item{msg: m})
	n := len(s.buf)
	s.mu.Unlock()
	s.poke(n)
	return true
}

// Put buffers m, waiting while the buffer is full, and calls ack once m
// is stored. A message that is not a row is counted and acked at once.
// It returns ctx's error if ctx ends first (m is then not buffered). Put is
// for one goroutine at a time (the durable consumer's).
func (s *Sink) Put(ctx context.Context, m bus.Message, ack func()) error {
	if !s.keep(m) {
		if ack != nil {
			ack()
		}
		return nil
	}
	for {
		s.mu.Lock()
		if len(s.buf) < s.opts.MaxBuffer {
			s.buf = append(s.buf, item{m, ack})
			n := len(s.buf)
			s.mu.Unlock()
			s.poke(n)
			return nil
		}
		s.mu.Unlock()
		select {
		case <-s.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Sink) poke(n int) {
	if n >= s.opts.BatchSize {
		select {
		case s.full <- struct{}{}:
		default:
		}
	}
}

func (s *Sink) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// Run writes batches until ctx ends, then for at most DrainTimeout writes
// what is still buffered. It returns an error only if rows remain unwritten
// at the end, or at once if another Run is under way (the Store is written
// from one goroutine). Run does not close the store.
func (s *Sink) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sink: Run called while another Run is under way")
	}
	defer s.running.Store(false)
	tick := time.NewTicker(s.opts.FlushInterval)
	defer tick.Stop()
	rep := reporter{s: s}
	backoff := s.opts.RetryMin
	for ctx.Err() == nil {
		var timed bool
		select {
		case <-ctx.Done():
			continue
		case <-s.full:
		case <-tick.C:
			timed = true
		}
		// A full batch goes at once; a partial one when the ticker says it
		// has waited long enough.
		for n := s.pending(); n >= s.opts.BatchSize || (timed && n > 0); n = s.pending() {
			// A write in flight is not cut short by shutdown (WriteTimeout
			// bounds it); the backoff after a failure is.
			if err := s.flush(context.WithoutCancel(ctx)); err != nil {
				rep.failed(err)
				if !feed.SleepContext(ctx, backoff) {
					break
				}
				backoff = min(2*backoff, s.opts.RetryMax)
				continue
			}
			backoff = s.opts.RetryMin
			rep.ok()
		}
		rep.periodic()
	}
	drain, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	var last error
	for s.pending() > 0 {
		if last = s.flush(drain); last != nil {
			rep.failed(last)
			if !feed.SleepContext(drain, backoff) {
				break
			}
			backoff = min(2*backoff, s.opts.RetryMax)
		}
	}
	rep.final()
	if n := s.pending(); n > 0 {
		return fmt.Errorf("sink: %d rows not written at shutdown: %w", n, last)
	}
	return nil
}

// flush writes the oldest batch; on success it leaves the buffer and its
// acks are called.
func (s *Sink) flush(ctx context.Context) error {
	s.mu.Lock()
	k := min(len(s.buf), s.opts.BatchSize)
	batch := make([]bus.Message, k)
	for i := range batch {
		batch[i] = s.buf[i].msg
	}
	s.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	n, err := s.store.Write(wctx, batch)
	cancel()
	if err != nil {
		s.failures.Add(1)
		return err
	}
	s.mu.Lock()
	done := make([]func(), 0, k)
	for _, it := range s.buf[:k] {
		if it.ack != nil {
			done = append(done, it.ack)
		}
	}
	clear(s.buf[:k]) // let the stored messages be collected
	s.buf = s.buf[k:]
	s.mu.Unlock()
	select {
	case s.space <- struct{}{}:
	default:
	}
	s.written.Add(uint64(n))
	s.duplicates.Add(uint64(k - n))
	for _, ack := range done {
		ack()
	}
	return nil
}

// reporter calls Options.OnReport at a bounded rate.
type reporter struct {
	s       *Sink
	last    time.Time
	lastErr error
	failing bool   // a write failed since the last success
	unseen  bool   // lastErr has not been in a report yet
	seen    uint64 // Overflow+Invalid+Failures at the last report
}

func (r *reporter) troubles() uint64 {
	return r.s.overflow.Load() + r.s.invalid.Load() + r.s.failures.Load()
}

func (r *reporter) failed(err error) {
	r.failing, r.lastErr, r.unseen = true, err, true
	r.periodic()
}

// ok reports a recovery once, at once. An outage that began and ended
// within one ReportInterval of the last report (an overflow report, say)
// has had no report of its own: its error goes out first, so the log says
// why writes failed.
func (r *reporter) ok() {
	if r.failing {
		if r.unseen {
			r.emit(r.lastErr)
		}
		r.failing, r.lastErr = false, nil
		r.emit(nil)
	}
}

func (r *reporter) periodic() {
	if r.troubles() != r.seen && time.Since(r.last) >= r.s.opts.ReportInterval {
		r.emit(r.lastErr)
	}
}

func (r *reporter) final() {
	if r.troubles() != r.seen {
		r.emit(r.lastErr)
	}
}

func (r *reporter) emit(err error) {
	r.last, r.seen = time.Now(), r.troubles()
	if err != nil {
		r.unseen = false
	}
	if r.s.opts.OnReport != nil {
		r.s.opts.OnReport(r.s.Counters(), err)
	}
}
