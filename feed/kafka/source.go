package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tickd/tickd/feed"
)

// Sink is a feed.Sink that can say how far the engine has consumed it:
// engine.Input is one.
type Sink interface {
	feed.Sink
	// Committed appends the position after every event committed so far.
	// The source calls it on its own goroutine, after a Commit.
	Committed(dst []int64) []int64
	// Consumed reports whether the engine has processed every event up to
	// pos (from Committed), its outputs handed on to the publisher. Any
	// goroutine.
	Consumed(pos []int64) bool
}

// Opener opens the Sink of one partition, named "kafka:TOPIC/PARTITION".
type Opener func(source string) (Sink, error)

// Barrier returns once every output the engine had produced when it was
// called is published (and flushed to the NATS server), or with an error
// when it cannot say so: outputs were lost, or ctx ended. The pipeline
// provides it; the source commits offsets only past work it confirmed.
type Barrier func(ctx context.Context) error

// Limits of the source.
const (
	// FinalTimeout bounds the wait for the last confirmation and commit
	// when partitions are revoked or the source stops.
	FinalTimeout = 10 * time.Second
	// maxPollRecords caps the records decoded between two rebalance points.
	maxPollRecords = 4096
)

// Source consumes one topic in a consumer group; see the package doc.
// Create it with New and Run it once.
type Source struct {
	cfg     Config
	open    Opener
	barrier Barrier
	opts    feed.Options
	name    string    // "kafka:TOPIC", in reports not about one partition
	extra   []kgo.Opt // tests: a shorter heartbeat, so rebalances take ms, not seconds

	mu    sync.Mutex
	parts map[int32]*partition // assigned, under mu

	records   atomic.Uint64
	bad       atomic.Uint64
	committed atomic.Uint64
	inGroup   atomic.Bool  // assigned (maybe nothing), not since revoked or lost
	lag       atomic.Int64 // records behind the assigned partitions' ends, as of the last poll
}

// partition is one assigned partition: its Sink, Decoder and offsets. The
// decoding fields belong to whichever goroutine holds Source.mu (the poll
// loop, or a rebalance callback that removes the partition).
type partition struct {
	id    int32
	name  string // "kafka:TOPIC/P"
	sink  Sink
	dec   *feed.Decoder
	ctrs  *feed.Counters
	bytes uint64
	cur   int64 // offset of the record being decoded, for reports

	mark      []int64         // sink position after the last record decoded
	next      kgo.EpochOffset // offset after that record
	end       int64           // the partition's high watermark at the last fetch (-1: none yet)
	confirmed kgo.EpochOffset // next as of a mark the barrier confirmed
	committed int64           // offset last committed
}

// New validates the config and returns a Source that opens a Sink per
// assigned partition with open, and confirms published work with barrier.
// Of opts, Symbols, FixedSymbols, MaxFrame, MaxAhead (from the time a
// fetch returned, on Clock, not the record's timestamp), Stats, SourceID,
// Clock and OnError apply; the format is cfg.Format. OnError receives bad
// records with the source "kafka:TOPIC/P" and the record's offset (the error names
// the byte in the record), and client, barrier and commit errors with the
// source "kafka:TOPIC", each a *feed.SourceError: SourceDial (a broker
// could not be reached), SourceFetch (a fetch failed: the topic unknown, no
// leader) or SourceCommit (offsets held back or a commit failed).
func New(cfg Config, open Opener, barrier Barrier, opts feed.Options) (*Source, error) {
	if open == nil || barrier == nil {
		return nil, errors.New("kafka: New: nil Opener or Barrier")
	}
	if len(cfg.Brokers) == 0 || checkTopic(cfg.Topic) != nil {
		return nil, errors.New("kafka: New: want brokers and a valid topic (see ParseURL)")
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	opts.Format = cfg.Format
	if opts.Stats == nil {
		opts.Stats = new(feed.Registry)
	}
	if opts.Clock == nil {
		opts.Clock = func() int64 { return time.Now().UnixNano() }
	}
	if _, err := feed.NewDecoder("kafka", 0, opts); err != nil {
		return nil, err // the options are checked once, here
	}
	return &Source{cfg: cfg, open: open, barrier: barrier, opts: opts,
		name: "kafka:" + cfg.Topic, parts: make(map[int32]*partition)}, nil
}

// Records counts the records decoded, good and bad (not one whose
// decoding the Sink's shutdown cut short).
func (s *Source) Records() uint64 { return s.records.Load() }

// BadRecords counts the records of which at least one frame or line was
// rejected (the rest of such a record is still decoded).
func (s *Source) BadRecords() uint64 { return s.bad.Load() }

// Commits counts the partition offsets committed (one per partition per commit).
func (s *Source) Commits() uint64 { return s.committed.Load() }

// Lag is how many records the assigned partitions hold past the last one
// decoded, as of the last poll (partitions not read from yet count 0).
func (s *Source) Lag() int64 { return s.lag.Load() }

// Topic is the topic consumed.
func (s *Source) Topic() string { return s.cfg.Topic }

// InGroup reports whether the source is a member of its consumer group:
// the group has given it its share of the partitions (none, when the
// group has more members than partitions), and not revoked or lost them
// since (a rebalance under way, the brokers unreachable, the source
// stopped). Any goroutine.
func (s *Source) InGroup() bool { return s.inGroup.Load() }

// Run consumes until ctx is done, then confirms and commits what was
// published, closes the Sinks and leaves the group. It returns nil then, or
// an error if the client cannot be created.
func (s *Source) Run(ctx context.Context) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(s.cfg.Brokers...),
		kgo.ClientID("tickd"),
		kgo.ConsumerGroup(s.cfg.Group),
		kgo.ConsumeTopics(s.cfg.Topic),
		kgo.DisableAutoCommit(),
		// Polls return retryable errors too (an unknown topic, no leader):
		// reported, rate-limited, instead of a silent wait.
		kgo.KeepRetryableFetchErrors(),
		// A new group starts at the start of the topic, and an offset lost
		// to retention resumes at the log start: at-least-once skips nothing.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.BlockRebalanceOnPoll(), // callbacks never run while a poll is decoded
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(func(_ context.Context, cl *kgo.Client, m map[string][]int32) { s.revoked(cl, m, true) }),
		kgo.OnPartitionsLost(func(_ context.Context, cl *kgo.Client, m map[string][]int32) { s.revoked(cl, m, false) }),
		kgo.WithHooks(connectHook{s}),
	}, s.extra...)...)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	cctx, stopConfirm := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.confirmLoop(cctx) })
	s.pollLoop(ctx, cl)
	stopConfirm()
	wg.Wait()
	s.inGroup.Store(false)
	s.mu.Lock()
	all := s.parts
	s.parts = make(map[int32]*partition)
	s.mu.Unlock()
	s.finish(cl, all, true)
	// Leave the group (the last revoke finds nothing left), bounded: a
	// cluster that is gone must not hold up the shutdown.
	cl.AllowRebalance()
	lctx, cancel := context.WithTimeout(context.Background(), FinalTimeout)
	cl.LeaveGroupContext(lctx)
	cancel()
	cl.Close()
	return nil
}

// pollLoop decodes each poll's records into their partitions' Sinks and
// commits the offsets the barrier has confirmed, until ctx is done. Polls
// time out every CommitInterval so confirmed offsets are committed when
// the topic is quiet too.
func (s *Source) pollLoop(ctx context.Context, cl *kgo.Client) {
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, s.cfg.CommitInterval)
		fs := cl.PollRecords(pctx, maxPollRecords)
		cancel()
		if fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			where := fmt.Sprintf("fetch %s/%d", topic, p)
			if topic == "" { // the client's, not a partition's: joining the group failed
				where = "group " + s.cfg.Group
			}
			s.report(s.name, 0, &feed.SourceError{Op: feed.SourceFetch, Err: fmt.Errorf("kafka: %s: %w", where, err)})
		})
		now := s.opts.Clock()
		s.mu.Lock()
		fs.EachPartition(func(ftp kgo.FetchTopicPartition) {
			if p := s.parts[ftp.Partition]; p != nil && len(ftp.Records) > 0 {
				s.take(p, ftp.Records, now)
				p.end = ftp.HighWatermark
			}
		})
		s.lag.Store(s.behind())
		offs := s.confirmedOffsets()
		s.mu.Unlock()
		if offs != nil {
			s.commit(ctx, cl, offs)
		}
		cl.AllowRebalance()
	}
}

// take decodes a partition's records into its Sink, then marks where they
// end. A record is counted as handed over (next) only once all of it is
// committed to the Sink.
func (s *Source) take(p *partition, recs []*kgo.Record, now int64) {
	p.ctrs.HandingOn(now)
	for _, r := range recs {
		if !s.decode(p, r, now) {
			break // the engine is shutting down
		}
		p.next = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
	}
	p.mark = p.sink.Committed(p.mark[:0])
	p.ctrs.HandedOn(s.opts.Clock()) // the time behind a full engine was no silence
	st := p.dec.Stats()
	st.Bytes = p.bytes
	p.ctrs.Publish(&st)
}

// decode decodes one record's value, a whole stream of its own (the decoder
// starts over: native sequence from 1, local symbols forgotten), straight
// into claimed slots. It reports false if the Sink is shutting down.
func (s *Source) decode(p *partition, r *kgo.Record, now int64) bool {
	d := p.dec
	p.cur = r.Offset
	p.bytes += uint64(len(r.Value))
	errs := d.Stats().Errors
	if !d.DecodeMessage(p.sink, r.Value, now) {
		return false
	}
	if d.Stats().Errors != errs {
		s.bad.Add(1)
	}
	s.records.Add(1) // once its events are committed: Records counts records decoded
	return true
}

// behind sums, over the assigned partitions read so far, the records
// between the last one decoded and the partition's end. Under mu.
func (s *Source) behind() int64 {
	var n int64
	for _, p := range s.parts {
		if p.end >= 0 && p.next.Offset >= 0 {
			n += max(p.end-p.next.Offset, 0)
		}
	}
	return n
}

// confirmedOffsets returns the offsets confirmed and not yet committed, or
// nil. Under mu.
func (s *Source) confirmedOffsets() map[string]map[int32]kgo.EpochOffset {
	var m map[int32]kgo.EpochOffset
	for id, p := range s.parts {
		if p.confirmed.Offset > p.committed {
			if m == nil {
				m = make(map[int32]kgo.EpochOffset)
			}
			m[id] = p.confirmed
		}
	}
	if m == nil {
		return nil
	}
	return map[string]map[int32]kgo.EpochOffset{s.cfg.Topic: m}
}

// commit commits offs synchronously and records what was committed.
func (s *Source) commit(ctx context.Context, cl *kgo.Client, offs map[string]map[int32]kgo.EpochOffset) {
	var failed map[int32]bool
	cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			if ctx.Err() == nil {
				s.report(s.name, 0, &feed.SourceError{Op: feed.SourceCommit, Err: fmt.Errorf("kafka: commit: %w", err)})
			}
			failed = map[int32]bool{}
			for id := range offs[s.cfg.Topic] {
				failed[id] = true
			}
			return
		}
		for _, t := range resp.Topics {
			for _, rp := range t.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
					s.report(s.name, 0, &feed.SourceError{Op: feed.SourceCommit, Err: fmt.Errorf("kafka: commit %s/%d: %w", t.Topic, rp.Partition, err)})
					if failed == nil {
						failed = map[int32]bool{}
					}
					failed[rp.Partition] = true
				}
			}
		}
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, o := range offs[s.cfg.Topic] {
		if failed[id] {
			continue
		}
		s.committed.Add(1)
		if p := s.parts[id]; p != nil && o.Offset > p.committed {
			p.committed = o.Offset
		}
	}
}

// pending is a partition's mark waiting for the barrier.
type pending struct {
	p    *partition
	mark []int64
	next kgo.EpochOffset
}

// confirmLoop confirms, every CommitInterval, the offsets of the records
// whose outputs are published: it snapshots each partition's mark, waits
// until the engine has consumed the Sinks up to the marks, then calls the
// barrier. The poll loop commits what it confirmed.
func (s *Source) confirmLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.CommitInterval)
	defer t.Stop()
	var pend []pending
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pend = pend[:0]
		s.mu.Lock()
		for _, p := range s.parts {
			if p.next.Offset > p.confirmed.Offset {
				pend = append(pend, pending{p, append([]int64(nil), p.mark...), p.next})
			}
		}
		s.mu.Unlock()
		if len(pend) == 0 {
			continue
		}
		if err := s.await(ctx, pend); err != nil {
			if ctx.Err() == nil {
				s.report(s.name, 0, err)
			}
			continue
		}
		s.mu.Lock()
		for _, w := range pend {
			if s.parts[w.p.id] == w.p && w.next.Offset > w.p.confirmed.Offset {
				w.p.confirmed = w.next
			}
		}
		s.mu.Unlock()
	}
}

// await waits until every mark is consumed, then for the barrier. Its
// error, a feed.SourceError (SourceCommit), says the offsets stay held back.
func (s *Source) await(ctx context.Context, pend []pending) error {
	for _, w := range pend {
		for !w.p.sink.Consumed(w.mark) {
			// Polled: the engine is never made to signal anyone.
			if !feed.SleepContext(ctx, time.Millisecond) {
				return heldBack(fmt.Errorf("%s not consumed: %w", w.p.name, ctx.Err()))
			}
		}
	}
	if err := s.barrier(ctx); err != nil {
		return heldBack(err)
	}
	return nil
}

func heldBack(err error) error {
	return &feed.SourceError{Op: feed.SourceCommit, Err: fmt.Errorf("kafka: offsets held back: %w", err)}
}

// assigned opens a Sink and a Decoder for each new partition.
func (s *Source) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.inGroup.Store(true) // kgo calls it after every join, even with nothing new
	for _, id := range m[s.cfg.Topic] {
		if s.parts[id] != nil {
			continue
		}
		name := s.name + "/" + strconv.Itoa(int(id))
		sink, err := s.open(name)
		if err != nil {
			s.report(name, 0, fmt.Errorf("kafka: %s: open sink: %w", name, err))
			continue
		}
		p := &partition{id: id, name: name, sink: sink, committed: -1, end: -1}
		p.confirmed.Offset, p.next.Offset = -1, -1
		p.ctrs = s.opts.Stats.Register(name, s.opts.SourceID, s.opts.Clock()) // silent from its assignment: stale after the timeout
		o := s.opts
		o.OnError = p.onError(s.opts.OnError)
		p.dec, _ = feed.NewDecoder(name, p.ctrs.ID(), o) // options checked by New
		s.parts[id] = p
	}
}

// onError turns a decoder's report (byte offset in the record) into one
// naming the record's Kafka offset.
func (p *partition) onError(f func(string, int64, uint64, error)) func(string, int64, uint64, error) {
	if f == nil {
		return nil
	}
	return func(source string, at int64, seq uint64, err error) {
		if feed.EndsStream(err) { // the record's framing: the next record is read
			err = fmt.Errorf("%w: %w", err, feed.ErrRestOfMessageSkipped)
		}
		f(source, p.cur, seq, fmt.Errorf("kafka: %s offset %d, byte %d: %w", source, p.cur, at, err))
	}
}

// revoked takes the partitions out, closes their Sinks and, unless they
// were lost, commits what the barrier confirms of them before the group
// hands them on.
func (s *Source) revoked(cl *kgo.Client, m map[string][]int32, commit bool) {
	s.inGroup.Store(false)
	s.mu.Lock()
	gone := make(map[int32]*partition)
	for _, id := range m[s.cfg.Topic] {
		if p := s.parts[id]; p != nil {
			gone[id] = p
			delete(s.parts, id)
		}
	}
	s.mu.Unlock()
	s.finish(cl, gone, commit)
}

// finish closes the partitions' Sinks and, with commit, waits for their
// last marks to be published and commits them (bounded by FinalTimeout).
// The partitions are no longer in s.parts: finish owns them.
func (s *Source) finish(cl *kgo.Client, parts map[int32]*partition, commit bool) {
	var pend []pending
	for _, p := range parts {
		p.sink.Close()
		st := p.dec.Stats()
		st.Bytes = p.bytes
		p.ctrs.Publish(&st)
		s.opts.Stats.Unregister(p.ctrs)
		if s.opts.OnEnd != nil {
			s.opts.OnEnd(p.name)
		}
		if p.next.Offset > p.committed {
			pend = append(pend, pending{p, p.mark, p.next})
		}
	}
	if !commit || len(pend) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), FinalTimeout)
	defer cancel()
	if err := s.await(ctx, pend); err != nil {
		s.report(s.name, 0, err)
		return
	}
	offs := map[int32]kgo.EpochOffset{}
	for _, w := range pend {
		offs[w.p.id] = w.next
	}
	s.commit(ctx, cl, map[string]map[int32]kgo.EpochOffset{s.cfg.Topic: offs})
}

// connectHook reports failed broker connections: kgo retries them quietly,
// and a source whose brokers are gone should say so.
type connectHook struct{ s *Source }

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (h connectHook) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.s.report(h.s.name, 0, &feed.SourceError{Op: feed.SourceDial, Err: fmt.Errorf("kafka: broker %s:%d: %w", meta.Host, meta.Port, err)})
	}
}

func (s *Source) report(source string, offset int64, err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(source, offset, 0, err)
	}
}
