package natsfeed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/feed"
)

// Limits of the source.
const (
	// drainWait is how long, when the source stops, it waits for the next
	// pending message before it takes the subscription as drained.
	drainWait = 100 * time.Millisecond
)

// Source consumes one NATS subscription; see the package doc. Create it
// with New and Run it once.
type Source struct {
	cfg  Config
	nc   *nats.Conn
	open feed.SinkOpener
	opts feed.Options
	name string // "nats:PATTERN", the Sink's and the counters' source

	sub        atomic.Pointer[nats.Subscription]
	subscribed atomic.Bool
	messages   atomic.Uint64
	bad        atomic.Uint64
	dropped    atomic.Uint64 // as of the last look at Subscription.Dropped

	// The decoding state, the Run goroutine's.
	sink    feed.Sink
	dec     *feed.Decoder
	ctrs    *feed.Counters
	bytes   uint64
	subject string // of the message being decoded, for reports
}

// New validates the config and options and returns a Source that
// subscribes on nc and decodes into the Sink open gives it. Of opts,
// Symbols, FixedSymbols, MaxFrame, MaxAhead (from the time a message is
// taken, on Clock), Stats, SourceID, Clock, OnError and OnEnd apply; the
// format is cfg.Format. OnError receives, with the source
// "nats:PATTERN", bad lines and frames (the error names the message's
// subject, "nats:SUBJECT", and the byte in the message) and subscription
// trouble (a refused subscription, dropped messages) as a
// *feed.SourceError.
func New(cfg Config, nc *nats.Conn, open feed.SinkOpener, opts feed.Options) (*Source, error) {
	if nc == nil || open == nil {
		return nil, errors.New("natsfeed: New: nil connection or SinkOpener")
	}
	if err := checkSubject(cfg.Subject); err != nil {
		return nil, fmt.Errorf("natsfeed: New: %w", err)
	}
	if cfg.PendingMsgs <= 0 {
		cfg.PendingMsgs = DefaultPendingMsgs
	}
	if cfg.PendingBytes <= 0 {
		cfg.PendingBytes = DefaultPendingBytes
	}
	opts.Format = cfg.Format
	if opts.Stats == nil {
		opts.Stats = new(feed.Registry)
	}
	if opts.Clock == nil {
		opts.Clock = func() int64 { return time.Now().UnixNano() }
	}
	if _, err := feed.NewDecoder("nats", 0, opts); err != nil {
		return nil, err // the options are checked once, here
	}
	return &Source{cfg: cfg, nc: nc, open: open, opts: opts, name: "nats:" + cfg.Subject}, nil
}

// Subject is the subject (pattern) subscribed to.
func (s *Source) Subject() string { return s.cfg.Subject }

// Name is the source's name in reports and feed counters: "nats:PATTERN".
func (s *Source) Name() string { return s.name }

// Messages counts the messages decoded, good and bad (not one whose
// decoding the Sink's shutdown cut short).
func (s *Source) Messages() uint64 { return s.messages.Load() }

// BadMessages counts the messages of which at least one frame or line was
// rejected (the rest of such a message is still decoded).
func (s *Source) BadMessages() uint64 { return s.bad.Load() }

// Dropped counts the messages the client dropped because the source was
// behind by more than the pending limits (slow consumer). Any goroutine.
func (s *Source) Dropped() uint64 {
	s.lookDropped()
	return s.dropped.Load()
}

// Subscribed reports whether the subscription is in place: from Run's
// start until it stops, while the connection is up (what is published
// while it is down never reaches the source; the client subscribes again
// as it reconnects). Any goroutine.
func (s *Source) Subscribed() bool { return s.subscribed.Load() && s.nc.IsConnected() }

// Subscribe subscribes, if Run has not yet, and returns once the server
// has the subscription: what is published from then on reaches the
// source (held pending until Run decodes it). Call it before Run, from
// the same goroutine, to know the subscription is in place.
func (s *Source) Subscribe() error {
	if s.sub.Load() != nil {
		return nil
	}
	sub, err := s.subscribe()
	if err != nil {
		return err
	}
	s.sub.Store(sub)
	s.subscribed.Store(true)
	return nil
}

// Run subscribes (unless Subscribe did) and decodes messages until ctx is
// done, then unsubscribes, decodes what was already pending and closes the
// Sink. It returns an error if the Sink cannot be opened, the
// subscription is refused, or it ends before ctx is done (the connection
// closed for good).
func (s *Source) Run(ctx context.Context) error {
	sink, err := s.open(s.name)
	if err != nil {
		if sub := s.sub.Load(); sub != nil {
			_ = sub.Unsubscribe()
		}
		s.subscribed.Store(false)
		return fmt.Errorf("natsfeed: %s: open sink: %w", s.name, err)
	}
	s.sink = sink
	s.ctrs = s.opts.Stats.Register(s.name, s.opts.SourceID, s.opts.Clock())
	o := s.opts
	o.OnError = s.onError(s.opts.OnError)
	s.dec, _ = feed.NewDecoder(s.name, s.ctrs.ID(), o) // options checked by New
	defer s.end()
	if err := s.Subscribe(); err != nil {
		return err
	}
	sub := s.sub.Load()
	err = s.consume(ctx, sub)
	s.subscribed.Store(false)
	s.drain(sub)
	return err
}

// subscribe subscribes (in the queue group, if any) with the pending
// limits, and waits for the server to have the subscription, so that
// what is published once Run is under way reaches it.
func (s *Source) subscribe() (*nats.Subscription, error) {
	before := s.nc.LastError()
	sub, err := s.nc.QueueSubscribeSync(s.cfg.Subject, s.cfg.Queue)
	if err == nil {
		if err = sub.SetPendingLimits(s.cfg.PendingMsgs, s.cfg.PendingBytes); err == nil {
			err = s.nc.Flush()
		}
		if err == nil {
			err = s.refusal(before)
		}
		if err != nil {
			_ = sub.Unsubscribe()
		}
	}
	if err != nil {
		return nil, &feed.SourceError{Op: feed.SourceFetch, Err: fmt.Errorf("natsfeed: subscribe %s: %w", s.cfg, err)}
	}
	return sub, nil
}

// refusal returns the server's refusal of the subscription (a
// permissions violation), or nil. The server answers a refused SUB with
// an -ERR ahead of the flush's PONG, and the client keeps it only as the
// connection's last error (before: that error ahead of the SUB), so a
// refused subscription would otherwise look in place and receive nothing.
func (s *Source) refusal(before error) error {
	err := s.nc.LastError()
	if err == nil || err == before || !errors.Is(err, nats.ErrPermissionViolation) ||
		!strings.Contains(err.Error(), fmt.Sprintf("Subscription to %q", s.cfg.Subject)) {
		return nil
	}
	return err
}

// consume decodes messages as they come until ctx is done (nil) or the
// subscription ends under it: the connection closed for good, an error.
func (s *Source) consume(ctx context.Context, sub *nats.Subscription) error {
	for {
		m, err := sub.NextMsgWithContext(ctx)
		switch {
		case err == nil:
			if !s.take(m) {
				return nil // the engine is shutting down
			}
		case errors.Is(err, nats.ErrSlowConsumer):
			s.reportDropped()
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("natsfeed: %s: subscription ended: %w", s.name, err)
		}
	}
}

// drain unsubscribes and decodes the messages already received.
func (s *Source) drain(sub *nats.Subscription) {
	s.lookDropped()
	if sub.Drain() != nil {
		return // the connection is closed: nothing more is delivered
	}
	for {
		m, err := sub.NextMsg(drainWait)
		if errors.Is(err, nats.ErrSlowConsumer) {
			s.reportDropped()
			continue
		}
		if err != nil || !s.take(m) {
			return
		}
	}
}

// end closes the Sink and the counters, and tells OnEnd.
func (s *Source) end() {
	s.lookDropped()
	s.sink.Close()
	s.publish()
	s.opts.Stats.Unregister(s.ctrs)
	if s.opts.OnEnd != nil {
		s.opts.OnEnd(s.name)
	}
}

// take decodes one message, a whole stream of its own (the decoder starts
// over: native sequence from 1, local symbols forgotten), straight into
// claimed slots. It reports false if the Sink is shutting down.
func (s *Source) take(m *nats.Msg) bool {
	now := s.opts.Clock()
	s.subject = m.Subject
	s.bytes += uint64(len(m.Data))
	d := s.dec
	errs := d.Stats().Errors
	s.ctrs.HandingOn(now)
	ok := d.DecodeMessage(s.sink, m.Data, now)
	if ok { // else the sink's shutdown cut its decoding short: not a message decoded
		if d.Stats().Errors != errs {
			s.bad.Add(1)
		}
		s.messages.Add(1) // once its events are committed: Messages counts messages decoded
	}
	s.ctrs.HandedOn(s.opts.Clock()) // the time behind a full engine was no silence
	s.publish()
	return ok
}

func (s *Source) publish() {
	st := s.dec.Stats()
	st.Bytes = s.bytes
	s.ctrs.Publish(&st)
}

// lookDropped updates the dropped count from the subscription's and
// returns how much it grew.
func (s *Source) lookDropped() uint64 {
	sub := s.sub.Load()
	if sub == nil {
		return 0
	}
	n, err := sub.Dropped()
	if err != nil {
		return 0 // closed: the count stays as last seen
	}
	for {
		old := s.dropped.Load()
		if uint64(n) <= old {
			return 0
		}
		if s.dropped.CompareAndSwap(old, uint64(n)) {
			return uint64(n) - old
		}
	}
}

// reportDropped reports the messages dropped since the last look.
func (s *Source) reportDropped() {
	added := s.lookDropped()
	s.report(&feed.SourceError{Op: feed.SourceDropped, Err: fmt.Errorf(
		"natsfeed: %s: slow consumer: %d messages dropped (%d in all) past the pending limits (%d messages, %d bytes)",
		s.name, added, s.dropped.Load(), s.cfg.PendingMsgs, s.cfg.PendingBytes)})
}

// onError turns a decoder's report into one naming the message's subject
// in the error. The report's source stays the subscription's: a pattern
// matches any number of subjects, and a reader that limits its logging
// per source (tickd's once a second) must not see each as one of its own.
func (s *Source) onError(f func(string, int64, uint64, error)) func(string, int64, uint64, error) {
	if f == nil {
		return nil
	}
	return func(_ string, at int64, seq uint64, err error) {
		if feed.EndsStream(err) { // the message's framing: the next message is read
			err = fmt.Errorf("%w: %w", err, feed.ErrRestOfMessageSkipped)
		}
		f(s.name, at, seq, fmt.Errorf("natsfeed: nats:%s byte %d: %w", s.subject, at, err))
	}
}

func (s *Source) report(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(s.name, 0, 0, err)
	}
}
