package bus

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// DefaultFlushTimeout bounds the final flush of Publisher.Run.
const DefaultFlushTimeout = 5 * time.Second

// DefaultLossReportInterval is the least time between two OnLoss calls.
const DefaultLossReportInterval = time.Second

// DefaultReconnectBufSize is the reconnect buffer ReconnectOptions asks
// nats.go for: what a publisher may hold while its server is unreachable
// (nats.go's own default, made explicit). At ~250 B a signal it holds about
// 30k messages; beyond it publishes fail with nats.ErrReconnectBufExceeded
// and are counted as Dropped.
const DefaultReconnectBufSize = 8 << 20

// DefaultWriteTimeout is the write deadline ReconnectOptions asks nats.go
// for: a server that reads nothing for this long (hung, or cut off by a
// partition that resets nothing) is treated as lost, and the connection
// reconnects, buffering. nats.go's own default, a minute, holds every
// Publish behind the blocked write that long, and so a shutdown past a
// supervisor's stop timeout (30 s in Kubernetes). nats-server cuts a
// client that reads nothing for 10 s by default.
const DefaultWriteTimeout = 5 * time.Second

// ReconnectOptions returns the nats.go options of a publishing connection to
// an external server: reconnect forever, give a write DefaultWriteTimeout,
// and buffer at most bufSize bytes of publishes while disconnected (0:
// DefaultReconnectBufSize; negative: no buffer, every publish while
// disconnected is dropped). The buffer is flushed, in order, once the
// connection is back.
func ReconnectOptions(bufSize int) []nats.Option {
	switch {
	case bufSize == 0:
		bufSize = DefaultReconnectBufSize
	case bufSize < 0:
		bufSize = -1 // nats.go: publishes fail at once while reconnecting
	}
	return []nats.Option{nats.MaxReconnects(-1), nats.ReconnectBufSize(bufSize), nats.FlusherTimeout(DefaultWriteTimeout)}
}

// PublisherOptions configures a Publisher. The zero value is usable.
type PublisherOptions struct {
	// Prefix is the first subject token(s); default DefaultPrefix ("tickd").
	Prefix string
	// ID names this publisher in every payload ("publisher"), so consumers
	// can key messages by (publisher, seq); default "<hostname>-<pid>".
	ID string
	// Consumer is the index of the publisher's consumer on every output ring
	// (ringbuf.Ring.Consumer); default 0.
	Consumer int
	// Wait is how Run idles when every ring is empty; default SpinYield.
	// Park sleeps on Bell and should only be used when the rings were
	// created with that Bell (otherwise it wakes by timeout only).
	Wait ringbuf.WaitStrategy
	// Bell is the Bell the output rings ring on Commit (ringbuf.Options.Bell);
	// nil: the Publisher makes its own (see Publisher.Bell).
	Bell *ringbuf.Bell
	// FlushTimeout bounds Run's final flush; default DefaultFlushTimeout.
	FlushTimeout time.Duration
	// OnLoss, if set, is called from Run's goroutine when messages were
	// lost (Dropped or Errors grew), at most once per LossReportInterval
	// and once more at the end of Run if losses are unreported: callers log
	// from it without flooding the log during an outage. last is the latest
	// publish error.
	OnLoss func(c PublisherCounters, last error)
	// LossReportInterval; default DefaultLossReportInterval.
	LossReportInterval time.Duration
	// JetStream, if set, sends signals and bars to a JetStream stream
	// with acknowledgement and retries (see JetStreamOptions, EnsureStream).
	// Run may then be called once.
	JetStream *JetStreamOptions
	// Observe, if set, is called from Run's goroutine after each successful
	// publish with the record, its ts_pub and the time nc.Publish returned
	// (ns since the Unix epoch): the metrics' latency hook. It runs on the
	// hot path, so it must not block, lock or allocate, and must not keep o.
	Observe func(o *tick.Out, pubNs, doneNs int64)
}

func (o *PublisherOptions) applyDefaults() {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.ID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "tickd"
		}
		o.ID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if o.Bell == nil {
		o.Bell = ringbuf.NewBell()
	}
	if o.FlushTimeout == 0 {
		o.FlushTimeout = DefaultFlushTimeout
	}
	if o.LossReportInterval == 0 {
		o.LossReportInterval = DefaultLossReportInterval
	}
}

func (o *PublisherOptions) validate() error {
	if err := ValidatePrefix(o.Prefix); err != nil {
		return err
	}
	if o.Consumer < 0 {
		return fmt.Errorf("bus: negative ring consumer index %d", o.Consumer)
	}
	if o.Wait > ringbuf.Park {
		return fmt.Errorf("bus: unknown wait strategy %d", o.Wait)
	}
	if o.FlushTimeout < 0 {
		return fmt.Errorf("bus: negative flush timeout %s", o.FlushTimeout)
	}
	if o.LossReportInterval < 0 {
		return fmt.Errorf("bus: negative loss report interval %s", o.LossReportInterval)
	}
	return nil
}

// PublisherCounters are a Publisher's running totals.
type PublisherCounters struct {
	Signals, Bars, Stats, BBOs uint64 // messages published, by kind
	Bytes                      uint64 // payload bytes published
	Errors                     uint64 // nc.Publish failures other than Dropped (the message is lost; its seq is skipped), refusals, failed writes on core NATS
	// Dropped counts publishes refused while reconnecting because nats.go's
	// reconnect buffer was full (nats.ErrReconnectBufExceeded): lost, their
	// seq skipped. Publishes that fit the buffer are sent after the reconnect.
	Dropped uint64
	Invalid uint64 // records dropped before encoding: unknown kind, rule or symbol
	// WriteFailures counts the writes of nats.go's flusher that failed
	// (WriteFailed): on core NATS each is also one of Errors.
	WriteFailures uint64
	// JetStream: with PublisherOptions.JetStream (its overflow, ErrJetStreamFull, counts as Dropped).
	JetStream JetStreamCounters
}

// Publisher encodes the engine's output records as JSON and publishes them
// on NATS core subjects. One goroutine runs it (Run); Counters and Bell may
// be called from any goroutine.
//
// Flushing: Run never calls nc.Flush per batch. nc.Flush is a PING/PONG
// round trip that would stall the publisher for a full server round trip;
// instead every nc.Publish appends to nats.go's buffered writer and kicks
// its flusher goroutine, which writes out whatever has accumulated (so a
// burst goes out as a few large writes, and a lone message promptly). Run
// calls nc.FlushTimeout once, after the last ring is drained.
type Publisher struct {
	nc    *nats.Conn
	enc   *Encoder
	subj  subjectCache
	opts  PublisherOptions
	nrule int
	js    *jsPublisher // nil: signals and bars on core NATS

	// Run's goroutine only.
	seq      uint64
	buf      []byte
	local    PublisherCounters // counts of the batch in progress
	firstErr error
	lastErr  error     // latest publish failure, for OnLoss
	reported uint64    // Dropped+Errors at the last OnLoss call
	lastLoss time.Time // of the last OnLoss call

	running atomic.Bool
	total   struct{ signals, bars, stats, bbos, bytes, errors, dropped, invalid, writeFailures atomic.Uint64 }
	refused atomic.Pointer[error] // the first loss after Publish returned (Refused, WriteFailed)
}

// Losses names what c counts lost by the counters, as serve's drain line
// does: publish_errors is no count of publishes, since a failed write or
// final flush counts once whatever number it held.
func (c PublisherCounters) Losses() string {
	return fmt.Sprintf("publish_errors %d, publish_dropped %d (reconnect buffer or JetStream bound full)", c.Errors, c.Dropped)
}

// NewPublisher returns a Publisher that publishes on nc, naming symbols from
// syms and rules from rules (rules[i] describes tick.Signal.Rule == i).
func NewPublisher(nc *nats.Conn, syms *tick.SymbolTable, rules []RuleInfo, opts PublisherOptions) (*Publisher, error) {
	if nc == nil {
		return nil, errors.New("bus: nil NATS connection")
	}
	opts.applyDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	enc, err := NewEncoder(opts.ID, syms, rules)
	if err != nil {
		return nil, err
	}
	p := &Publisher{nc: nc, enc: enc, opts: opts, nrule: len(rules), buf: make([]byte, 0, 1024)}
	p.subj.init(opts.Prefix, syms, rules)
	if opts.JetStream != nil {
		if p.js, err = newJSPublisher(nc, *opts.JetStream); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Bell returns the Bell Run idles on: create the output rings with it
// (ringbuf.Options.Bell) so that a parked publisher wakes on every Commit.
func (p *Publisher) Bell() *ringbuf.Bell { return p.opts.Bell }

// ID returns the publisher id carried in every payload.
func (p *Publisher) ID() string { return p.opts.ID }

// Counters returns the running totals; they are updated once per batch.
func (p *Publisher) Counters() PublisherCounters {
	t := &p.total
	return PublisherCounters{
		Signals: t.signals.Load(), Bars: t.bars.Load(), Stats: t.stats.Load(), BBOs: t.bbos.Load(),
		Bytes: t.bytes.Load(), Errors: t.errors.Load(), Dropped: t.dropped.Load(), Invalid: t.invalid.Load(),
		WriteFailures: t.writeFailures.Load(), JetStream: p.js.counters(),
	}
}

// Run fans in over outs, one goroutine polling every ring in turn, and
// publishes each record as it comes. It returns once every ring is closed
// and drained and a final flush is done. A failed publish does not stop
// it (the engine must never block on NATS): failures are counted, and Run
// returns an error naming the first one. Run may be called once at a time,
// and not while the publisher is Started.
func (p *Publisher) Run(outs []*ringbuf.Ring[tick.Out]) error {
	cons := make([]*ringbuf.Consumer[tick.Out], len(outs))
	for i, r := range outs {
		if r == nil {
			return fmt.Errorf("bus: output ring %d is nil", i)
		}
		cons[i] = r.Consumer(p.opts.Consumer)
	}
	if err := p.Start(); err != nil {
		return err
	}
	idler := ringbuf.NewIdler(p.opts.Wait, p.opts.Bell)
	for open := len(cons); open > 0; {
		found := false
		for i, c := range cons {
			if c == nil {
				continue
			}
			batch := c.Poll()
			if len(batch) == 0 {
				if c.Closed() {
					cons[i] = nil
					open--
				}
				continue
			}
			found = true
			for j := range batch {
				p.publish(&batch[j])
			}
			if p.local.Errors|p.local.Dropped != 0 {
				p.addCounters() // so whoever sees these records released sees their losses counted
			}
			c.Release(len(batch))
		}
		if found {
			p.EndBatch()
			idler.Reset()
		} else if open > 0 {
			idler.Idle()
		}
	}
	return p.Finish()
}

// Start readies the publisher to be driven by its caller instead of Run:
// records handed to Emit, one goroutine at a time, and EndBatch after each
// batch of them, then Finish. This is the inline engine's publisher
// (engine.Config.Emit, engine.Emitter): the engine and the publisher run on
// the feed's goroutine, with no ring and no wake-up between them.
func (p *Publisher) Start() error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("bus: the Publisher is already running")
	}
	if p.js != nil {
		if err := p.js.start(); err != nil {
			p.running.Store(false)
			return err
		}
	}
	return nil
}

// Refused counts a publish the server refused after nc.Publish had
// returned (a permissions violation, which nats.go hands to the
// connection's async error handler: see IsPublishRefused) with Errors: the
// message is lost, though counted as published. Call it from that handler;
// OnLoss reports it. A message sent to JetStream (a signal or bar, with
// JetStreamOptions) is not counted: JetStream sends it again, refused each
// time, until it is counted lost once, in JetStreamCounters.Lost.
func (p *Publisher) Refused(err error) {
	if p.js != nil && p.toJetStream(refusedSubject(err)) {
		p.refused.CompareAndSwap(nil, &err)
		return
	}
	p.lose(err)
}

// lose counts, once in Errors, publishes lost after nc.Publish had returned
// (how many is not always known), and keeps err for Refusal if it is the
// first such loss.
func (p *Publisher) lose(err error) {
	p.refused.CompareAndSwap(nil, &err)
	p.total.errors.Add(1)
}

// toJetStream reports whether subj is one the publisher sends to
// JetStream (with JetStreamOptions): a signal's or a bar's.
func (p *Publisher) toJetStream(subj string) bool {
	return strings.HasPrefix(subj, p.subj.signalP) || strings.HasPrefix(subj, p.subj.barP)
}

// refusedSubject is the subject a permissions violation names
// (`... for Publish to "SUBJ"`), or "".
func refusedSubject(err error) string {
	_, rest, ok := strings.Cut(err.Error(), `for Publish to "`)
	if !ok {
		return ""
	}
	subj, _, _ := strings.Cut(rest, `"`)
	return subj
}

// IsPublishRefused reports whether an async error of a connection is the
// server refusing a publish (a permissions violation on its subject).
func IsPublishRefused(err error) bool {
	return errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), "for Publish to")
}

// IsWriteLoss reports whether an async error of a connection is a write
// its flusher goroutine failed (a server that read nothing for
// DefaultWriteTimeout, a reset): nats.go drops the bytes that write held,
// publishes that had returned without an error. Hand it to WriteFailed.
func IsWriteLoss(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "write"
}

// WriteFailed counts a write of nats.go's flusher that failed (IsWriteLoss:
// call it from the connection's async error handler) in WriteFailures, and
// reports whether the publishes it held are lost. On core NATS they are:
// the failure counts once in Errors (how many publishes the write held is
// not known) and is reported as a refusal is (Refusal, OnLoss), so that
// a Kafka source holds its offsets back. With JetStreamOptions it is not a
// loss: the signals and bars it held get no acknowledgement and are sent
// again until stored (JetStreamCounters.Lost if never); the stats and BBOs
// it held, on core NATS, are gone uncounted.
func (p *Publisher) WriteFailed(err error) (lost bool) {
	p.total.writeFailures.Add(1)
	if p.js != nil {
		return false
	}
	p.lose(err)
	return true
}

// Refusal returns the first publish the server refused, or the first
// failed write that lost publishes (WriteFailed), or nil. nats.go hands
// both to the async error handler from its async-callback goroutine,
// possibly after a flush round trip has returned; the connection's last
// error is set before the flush's answer is read (by its read loop for a
// refusal, by its flusher for a write), so after a flush Refusal sees
// every such loss of what was published before it.
func (p *Publisher) Refusal() error {
	if r := p.refused.Load(); r != nil {
		return *r
	}
	if err := p.nc.LastError(); IsPublishRefused(err) || (p.js == nil && IsWriteLoss(err)) {
		return err
	}
	return nil
}

// lossErr is err, a publish failure, or else the first refusal.
func (p *Publisher) lossErr(err error) error {
	if err == nil {
		return p.Refusal()
	}
	return err
}

// Emit publishes one record (after Start). The record is not kept. With
// JetStreamOptions, a signal or bar emitted after Finish panics: the
// JetStream publisher is closed for good.
func (p *Publisher) Emit(o *tick.Out) { p.publish(o) }

// EndBatch moves the counts of the records published since the last call
// to the totals Counters reads, and reports losses (OnLoss).
func (p *Publisher) EndBatch() {
	p.addCounters()
	p.reportLoss(false)
}

// Finish ends what Start began: it reports unreported losses, flushes
// (bounded by FlushTimeout) and returns an error naming the first failed
// publish, if any.
func (p *Publisher) Finish() error {
	defer p.running.Store(false)
	p.addCounters()
	ferr := p.nc.FlushTimeout(p.opts.FlushTimeout) // the server has answered every publish: Refusal sees its refusals
	if ferr != nil {
		p.unsent(ferr)
	}
	p.reportLoss(true)
	var err error
	if first := p.lossErr(p.firstErr); first != nil {
		c := PublisherCounters{Errors: p.total.errors.Load(), Dropped: p.total.dropped.Load()}
		err = fmt.Errorf("bus: publishes lost (%s), the first with: %w", c.Losses(), first)
	}
	if ferr != nil {
		err = errors.Join(err, fmt.Errorf("bus: final flush: %w", ferr))
	}
	if p.js != nil {
		err = errors.Join(err, p.js.close())
	}
	return err
}

// unsent counts what nats.go still holds after a failed final flush (a
// server gone, the publishes in its reconnect buffer; or hung): closing
// the connection discards it. On core NATS those publishes, which had
// returned, are lost: once in Errors (how many is not known), as a failed
// write is (WriteFailed). Under JetStream the signals and bars among them
// are unacknowledged, counted by JetStreamCounters.
func (p *Publisher) unsent(ferr error) {
	if p.js != nil {
		return
	}
	// The flush's own PING goes out after the publishes: more than it
	// buffered means publishes too.
	if n, err := p.nc.Buffered(); err == nil && n > len("PING\r\n") {
		p.lose(fmt.Errorf("bus: %d bytes of publishes never reached the server: %w", n-len("PING\r\n"), ferr))
	}
}

// publish encodes one record into p.buf and publishes it. nats.go copies
// the payload into its write buffer, so p.buf is reused at once.
func (p *Publisher) publish(o *tick.Out) {
	var subj string
	switch o.Kind {
	case tick.OutSignal:
		if int(o.Signal.Rule) < p.nrule {
			subj = p.subj.signal(o.Signal.Symbol, o.Signal.Rule)
		}
	case tick.OutBar:
		if o.Bar.Interval > 0 {
			subj = p.subj.bar(o.Bar.Interval, o.Bar.Symbol)
		}
	case tick.OutStats:
		subj = p.subj.stats(o.Stats.Symbol)
	case tick.OutBBO:
		subj = p.subj.bbo(o.BBO.Symbol)
	}
	if subj == "" { // unknown kind, rule, symbol, or a bar without interval
		p.local.Invalid++
		return
	}
	p.seq++
	now := time.Now().UnixNano()
	switch o.Kind {
	case tick.OutSignal:
		p.buf = p.enc.AppendSignalJSON(p.buf[:0], p.seq, now, &o.Signal)
	case tick.OutBar:
		p.buf = p.enc.AppendBarJSON(p.buf[:0], p.seq, now, &o.Bar)
	case tick.OutStats:
		p.buf = p.enc.AppendStatsJSON(p.buf[:0], p.seq, now, &o.Stats)
	default: // tick.OutBBO: any other kind has no subject
		p.buf = p.enc.AppendBBOJSON(p.buf[:0], p.seq, now, &o.BBO)
	}
	var err error
	if p.js != nil && (o.Kind == tick.OutSignal || o.Kind == tick.OutBar) {
		err = p.js.publish(subj, o, p.buf)
	} else {
		err = p.nc.Publish(subj, p.buf)
	}
	if err != nil {
		if errors.Is(err, nats.ErrReconnectBufExceeded) || err == ErrJetStreamFull {
			p.local.Dropped++
		} else {
			p.local.Errors++
		}
		p.lastErr = err
		if p.firstErr == nil {
			p.firstErr = err
		}
		return
	}
	if p.opts.Observe != nil {
		p.opts.Observe(o, now, time.Now().UnixNano())
	}
	p.local.Bytes += uint64(len(p.buf))
	switch o.Kind {
	case tick.OutSignal:
		p.local.Signals++
	case tick.OutBar:
		p.local.Bars++
	case tick.OutStats:
		p.local.Stats++
	default:
		p.local.BBOs++
	}
}

// addCounters moves the batch's counts to the shared totals.
func (p *Publisher) addCounters() {
	l, t := &p.local, &p.total
	for _, c := range [...]struct {
		n *uint64
		a *atomic.Uint64
	}{{&l.Signals, &t.signals}, {&l.Bars, &t.bars}, {&l.Stats, &t.stats}, {&l.BBOs, &t.bbos},
		{&l.Bytes, &t.bytes}, {&l.Errors, &t.errors}, {&l.Dropped, &t.dropped}, {&l.Invalid, &t.invalid}} {
		if *c.n != 0 {
			c.a.Add(*c.n)
			*c.n = 0
		}
	}
}

// reportLoss calls OnLoss if losses grew since the last call, at most once
// per LossReportInterval unless final. The check is two loads per batch.
func (p *Publisher) reportLoss(final bool) {
	if p.opts.OnLoss == nil {
		return
	}
	lost := p.total.errors.Load() + p.total.dropped.Load()
	if lost == p.reported {
		return
	}
	now := time.Now()
	if !final && now.Sub(p.lastLoss) < p.opts.LossReportInterval {
		return
	}
	p.reported, p.lastLoss = lost, now
	p.opts.OnLoss(p.Counters(), p.lossErr(p.lastErr))
}
