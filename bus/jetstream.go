package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tickd/tickd/tick"
)

// JetStream defaults.
const (
	DefaultStream       = "TICKD"
	DefaultJSMaxPending = 4096
	DefaultJSAckTimeout = 2 * time.Second
	DefaultJSDrain      = 30 * time.Second
)

// ErrJetStreamFull is the error of a publish refused because MaxPending
// messages already wait for their acknowledgement: the message is lost and
// counted as Dropped, as a full reconnect buffer's are.
var ErrJetStreamFull = errors.New("bus: too many JetStream publishes awaiting acknowledgement")

// JetStreamOptions makes a Publisher store signals and bars in a JetStream
// stream (PublisherOptions.JetStream). BBOs and stats stay on core NATS.
type JetStreamOptions struct {
	// Stream is the stream's name; default DefaultStream ("TICKD").
	Stream string
	// Stream limits (0: unlimited) and replica count (0: 1). They apply
	// when EnsureStream creates the stream; an existing one keeps its own.
	MaxAge            time.Duration
	MaxBytes          int64
	MaxMsgsPerSubject int64
	Replicas          int
	// MaxPending bounds the messages published and not yet acknowledged
	// (retries included); beyond it a message is dropped and counted, so
	// the publisher never blocks on JetStream (unless Block). Default
	// DefaultJSMaxPending.
	MaxPending int
	// Block makes a publish beyond MaxPending wait for an acknowledgement
	// instead of dropping, so the engine and then the sources wait too:
	// for sources that can (a Kafka topic, which keeps what is not read
	// yet). A JetStream that acknowledges nothing for DrainTimeout is given
	// up on: publishes are dropped and counted again until one is.
	Block bool
	// AckTimeout is how long a publish waits for its acknowledgement
	// before it is sent again; default DefaultJSAckTimeout.
	AckTimeout time.Duration
	// DrainTimeout bounds how long Publisher.Run, at its end, keeps
	// re-sending what is not stored yet; default DefaultJSDrain.
	DrainTimeout time.Duration
}

func (o *JetStreamOptions) applyDefaults() {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultJSMaxPending
	}
	if o.AckTimeout == 0 {
		o.AckTimeout = DefaultJSAckTimeout
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultJSDrain
	}
}

func (o *JetStreamOptions) validate() error {
	switch {
	case o.MaxAge < 0 || o.MaxBytes < 0 || o.MaxMsgsPerSubject < 0:
		return errors.New("bus: negative JetStream stream limit")
	case o.Replicas < 1 || o.Replicas > 5:
		return fmt.Errorf("bus: JetStream replicas %d not in 1..5", o.Replicas)
	case o.MaxPending < 1:
		return fmt.Errorf("bus: JetStream max pending %d < 1", o.MaxPending)
	case o.AckTimeout < 0 || o.DrainTimeout < 0:
		return errors.New("bus: negative JetStream timeout")
	}
	return nil
}

// StreamSubjects are the subjects the stream of prefix captures: every
// signal and every bar.
func StreamSubjects(prefix string) []string {
	s := Subjects{Prefix: prefix}
	return []string{s.AllSignals(), s.AllBars()}
}

// EnsureStream creates the stream o describes, capturing StreamSubjects
// (prefix; DefaultPrefix when empty, as for PublisherOptions.Prefix), or
// binds to it if it exists; an existing stream must capture those subjects.
// Its duplicate window is JetStream's default (2 minutes): a message id
// (MsgID) seen again within it is stored once.
func EnsureStream(ctx context.Context, nc *nats.Conn, prefix string, o JetStreamOptions) (jetstream.Stream, error) {
	o.applyDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	want := StreamSubjects(prefix)
	st, err := js.Stream(ctx, o.Stream)
	if err == nil {
		have := st.CachedInfo().Config.Subjects
		for _, s := range want {
			if !slices.Contains(have, s) {
				return nil, fmt.Errorf("bus: stream %s exists with subjects %v, not capturing %s", o.Stream, have, s)
			}
		}
		return st, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("bus: stream %s: %w", o.Stream, err)
	}
	st, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: o.Stream, Subjects: want, Storage: jetstream.FileStorage,
		MaxAge: o.MaxAge, MaxBytes: orUnlimited(o.MaxBytes), MaxMsgsPerSubject: orUnlimited(o.MaxMsgsPerSubject),
		MaxMsgs: -1, Replicas: o.Replicas, Discard: jetstream.DiscardOld,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: create stream %s: %w", o.Stream, err)
	}
	return st, nil
}

// orUnlimited maps the options' 0 (no limit) to JetStream's -1.
func orUnlimited(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// JetStreamCounters are a Publisher's JetStream totals (zero without it).
type JetStreamCounters struct {
	Sent       uint64 // accepted for the stream; each ends Stored or Lost, in send order
	Stored     uint64 // acknowledged by the stream (Duplicates included)
	Duplicates uint64 // acknowledged as already stored: a retry whose first send had landed
	Retries    uint64 // sends after the first: no acknowledgement in AckTimeout, a disconnect, no stream leader
	Lost       uint64 // still unacknowledged when Run's drain timed out (also in Errors)
	Pending    uint64 // sent and awaiting acknowledgement now
}

// jsPending is one message until the stream acknowledges it.
type jsPending struct {
	msg *nats.Msg
	fut jetstream.PubAckFuture // nil: not sent yet (the last send failed at once)
}

// jsPublisher sends the Publisher's signals and bars to JetStream. The
// Publisher's goroutine calls publish; one goroutine of its own (acks)
// waits for the acknowledgements in send order and sends again, with the
// same Nats-Msg-Id, whatever is not acknowledged: the stream's duplicate
// window drops the copies of a message that was stored after all. The
// unacknowledged messages are bounded by MaxPending.
type jsPublisher struct {
	js      jetstream.JetStream
	opts    JetStreamOptions
	pending chan *jsPending
	stop    chan struct{} // closed when the drain time is up
	done    chan struct{} // closed when acks returns
	started bool
	closed  bool         // close was called (publish's goroutine)
	n       atomic.Int64 // messages in pending or being retried
	paused  time.Time    // acks' last pause before a re-send
	stalled bool         // Block: the last wait for room timed out (publish's goroutine)
	totals  struct{ sent, stored, dups, retries, lost atomic.Uint64 }
	once    sync.Once
}

func newJSPublisher(nc *nats.Conn, o JetStreamOptions) (*jsPublisher, error) {
	o.applyDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(o.MaxPending+1),
		jetstream.WithPublishAsyncTimeout(o.AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	return &jsPublisher{js: js, opts: o, pending: make(chan *jsPending, o.MaxPending),
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// start runs the acknowledgement goroutine; Publisher.Run calls it, once.
func (j *jsPublisher) start() error {
	if j.started {
		return errors.New("bus: Publisher.Run with JetStream may run once")
	}
	j.started = true
	go j.acks()
	return nil
}

// MsgID is the Nats-Msg-Id of a signal or bar published on subj: the
// subject (symbol and rule, or interval and symbol) with the signal's event
// time and direction, or the bar's start. It names what the message says,
// not who sent it when, so the copy a retry sends, a replay of the same
// ticks (a Kafka consumer restarting from its last committed offset) and a
// redundant tickd on the same feed all map to one stored message.
func MsgID(subj string, o *tick.Out) string {
	b := make([]byte, 0, len(subj)+22)
	b = append(append(b, subj...), '@')
	if o.Kind == tick.OutBar {
		return string(strconv.AppendInt(b, o.Bar.Start, 10))
	}
	b = strconv.AppendInt(b, o.Signal.TsEvent, 10)
	if o.Signal.Dir < 0 {
		return string(append(b, '-'))
	}
	return string(append(b, '+'))
}

// publish sends a copy of data to subj with the message id of o (MsgID),
// or returns ErrJetStreamFull when MaxPending messages await
// acknowledgement. It never blocks (but with Block, waiting for room): a
// send that fails at once is retried by acks.
func (j *jsPublisher) publish(subj string, o *tick.Out, data []byte) error {
	if j.closed {
		panic("bus: Publisher.Emit after Finish: its JetStream publisher is closed")
	}
	if !j.room() {
		return ErrJetStreamFull
	}
	j.n.Add(1)
	m := &nats.Msg{Subject: subj, Data: slices.Clone(data), Header: nats.Header{}}
	m.Header.Set(jetstream.MsgIDHeader, MsgID(subj, o))
	e := &jsPending{msg: m}
	e.fut, _ = j.js.PublishMsgAsync(m)
	j.pending <- e // never blocks: n counts every entry, and n < MaxPending = cap
	j.totals.sent.Add(1)
	return nil
}

// roomPoll is how often a blocked publish looks for room: acks frees
// MaxPending slots in a few milliseconds at JetStream's rates.
const roomPoll = 100 * time.Microsecond

// room reports whether fewer than MaxPending messages await
// acknowledgement, waiting for it with Block. The wait gives up after
// DrainTimeout without one acknowledged, and is not tried again until
// there is room: a stalled JetStream costs one timeout, not one per message.
func (j *jsPublisher) room() bool {
	if j.n.Load() < int64(j.opts.MaxPending) {
		j.stalled = false
		return true
	}
	if !j.opts.Block || j.stalled {
		return false
	}
	last, since := j.n.Load(), time.Now()
	for {
		n := j.n.Load()
		if n < int64(j.opts.MaxPending) {
			return true
		}
		if n < last { // one was acknowledged (or given up): JetStream is moving
			last, since = n, time.Now()
		} else if time.Since(since) > j.opts.DrainTimeout {
			j.stalled = true
			return false
		}
		time.Sleep(roomPoll)
	}
}

// retryWait is the pause before a message whose send failed is sent
// again. Failures come in bursts (a disconnect fails every pending
// message), so acks pauses once per burst, not once per message: the
// messages that failed along with the first are re-sent at once.
const retryWait = 50 * time.Millisecond

// acks waits for each message's acknowledgement, in send order, sending it
// again until the stream has it or the drain time is up.
func (j *jsPublisher) acks() {
	defer close(j.done)
	for e := range j.pending {
		if !j.await(e) {
			j.totals.lost.Add(1)
		}
		j.n.Add(-1)
	}
}

// await returns once e is stored (true) or the drain time is up (false).
func (j *jsPublisher) await(e *jsPending) bool {
	for {
		if e.fut == nil {
			if time.Since(j.paused) > retryWait {
				select {
				case <-j.stop:
					return false
				case <-time.After(retryWait):
				}
				j.paused = time.Now()
			}
			j.totals.retries.Add(1)
			var err error
			if e.fut, err = j.js.PublishMsgAsync(e.msg); err != nil {
				e.fut = nil
			}
			continue
		}
		select {
		case ack := <-e.fut.Ok():
			j.stored(ack)
			return true
		case <-e.fut.Err(): // ack timeout, disconnect, no stream leader, …
			e.fut = nil
		case <-j.stop:
			// An acknowledgement already in counts: select picks among
			// ready cases at random, and the messages queued behind one
			// that held the drain up have theirs.
			select {
			case ack := <-e.fut.Ok():
				j.stored(ack)
				return true
			default:
				return false
			}
		}
	}
}

func (j *jsPublisher) stored(ack *jetstream.PubAck) {
	j.totals.stored.Add(1)
	if ack.Duplicate {
		j.totals.dups.Add(1)
	}
}

// close stops taking messages and waits up to DrainTimeout for every one
// sent to be stored. It returns an error counting those that were not.
func (j *jsPublisher) close() error {
	j.closed = true
	j.once.Do(func() { close(j.pending) })
	if !j.started {
		return nil
	}
	t := time.NewTimer(j.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-j.done:
	case <-t.C:
		close(j.stop)
		<-j.done
	}
	if n := j.totals.lost.Load(); n > 0 {
		return fmt.Errorf("bus: %d JetStream publishes not stored within %s", n, j.opts.DrainTimeout)
	}
	return nil
}

func (j *jsPublisher) counters() JetStreamCounters {
	if j == nil {
		return JetStreamCounters{}
	}
	return JetStreamCounters{Sent: j.totals.sent.Load(), Stored: j.totals.stored.Load(), Duplicates: j.totals.dups.Load(),
		Retries: j.totals.retries.Load(), Lost: j.totals.lost.Load(), Pending: uint64(max(0, j.n.Load()))}
}
