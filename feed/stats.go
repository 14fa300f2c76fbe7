package feed

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickd/tickd/internal/release"
)

// Stats are the counters of one source, or the sum over several, as plain
// values. A Decoder keeps its own Stats as plain fields; the source publishes
// them to its Counters once per read batch, never per message.
type Stats struct {
	Frames   uint64             // native frames or text lines consumed, good or bad
	Bytes    uint64             // bytes read (counted by sources; 0 for a bare Decoder)
	Events   uint64             // events written to the sink
	Errors   uint64             // frames or lines rejected: the sum of ByReason
	ByReason [NumReasons]uint64 // rejections by Reason
	Gaps     uint64             // sequence discontinuities (native)
	Missed   uint64             // sequence numbers skipped over by forward gaps
}

// Add adds o into s.
func (s *Stats) Add(o *Stats) {
	s.Frames += o.Frames
	s.Bytes += o.Bytes
	s.Events += o.Events
	s.Errors += o.Errors
	for i := range s.ByReason {
		s.ByReason[i] += o.ByReason[i]
	}
	s.Gaps += o.Gaps
	s.Missed += o.Missed
}

// Counters are the published counters of one source: written by its I/O
// goroutine once per read batch, readable from any goroutine.
type Counters struct {
	source string
	group  string // Registry.Group(source)
	id     uint16
	// transport reads an ITCH session's transport counters (nil otherwise).
	transport atomic.Pointer[func() TransportStats]

	frames, bytes, events, errors, gaps, missed atomic.Uint64
	byReason                                    [NumReasons]atomic.Uint64
	heard                                       atomic.Int64  // receive clock of the last read, heartbeat or datagram, or of the end of its hand-on
	handing                                     atomic.Uint64 // 1 while handing a batch on to its sink: held up by the engine, not waiting for its peer
}

// hear records that the source received something (data or a heartbeat)
// at now, on its receive clock. Called once per read batch.
func (c *Counters) hear(now int64) { release.StoreInt64(&c.heard, now) }

// handingOn records that a batch received at now is being handed on to
// the sink, which waits while the engine's ring is full (with -fused, runs
// the engine): meanwhile the source is not waiting for its peer, so not
// silent. handedOn ends it at now.
func (c *Counters) handingOn(now int64) {
	release.StoreInt64(&c.heard, now)
	release.StoreUint64(&c.handing, 1)
}

// handedOn records that the source has handed its batch on at now and
// waits for its peer again: its silence counts from now.
func (c *Counters) handedOn(now int64) {
	release.StoreInt64(&c.heard, now)
	release.StoreUint64(&c.handing, 0)
}

// silent is how long the source has waited for its peer at now: 0 while
// it hands a batch on.
func (c *Counters) silent(now int64) time.Duration {
	if c.handing.Load() != 0 {
		return 0
	}
	return max(time.Duration(now-c.heard.Load()), 0)
}

// Source is the source name, as in error reports.
func (c *Counters) Source() string { return c.source }

// ID is the tick.Event.Source the source stamps on its events.
func (c *Counters) ID() uint16 { return c.id }

// publish stores s (single writer, so stores, not adds, and release
// stores: readers only need to see each value whole, in order). The
// per-reason counters are only written when the error total moved.
func (c *Counters) publish(s *Stats) {
	release.StoreUint64(&c.frames, s.Frames)
	release.StoreUint64(&c.bytes, s.Bytes)
	release.StoreUint64(&c.events, s.Events)
	release.StoreUint64(&c.gaps, s.Gaps)
	release.StoreUint64(&c.missed, s.Missed)
	if c.errors.Load() != s.Errors {
		for i := range s.ByReason {
			release.StoreUint64(&c.byReason[i], s.ByReason[i])
		}
		release.StoreUint64(&c.errors, s.Errors)
	}
}

// Snapshot reads the counters. Fields are read one by one, so a snapshot
// taken during a publish may mix two batches; each field is exact.
func (c *Counters) Snapshot() Stats {
	var s Stats
	s.Frames = c.frames.Load()
	s.Bytes = c.bytes.Load()
	s.Events = c.events.Load()
	s.Errors = c.errors.Load()
	for i := range s.ByReason {
		s.ByReason[i] = c.byReason[i].Load()
	}
	s.Gaps = c.gaps.Load()
	s.Missed = c.missed.Load()
	return s
}

// SourceStats is one live source in a Registry snapshot.
type SourceStats struct {
	Source string
	ID     uint16
	Heard  int64 // receive clock (Options.Clock) of its last read, heartbeat or datagram, or of the end of handing it on
	// Handing: it was handing a batch on (held up by the engine, not
	// waiting for its peer).
	Handing bool
	Stats
}

// SilentAt is how long the source had waited for its peer at now (its
// receive clock): 0 while it was handing a batch on.
func (s *SourceStats) SilentAt(now int64) time.Duration {
	if s.Handing {
		return 0
	}
	return max(time.Duration(now-s.Heard), 0)
}

// Registry keeps the Counters of live sources and the totals of ended ones,
// so Total covers every source a listener, dialer or tail ever served. Its
// mutex is taken when a source starts or ends and when it is read, never per
// batch. The zero value is ready to use.
type Registry struct {
	// Group, if set before the first source registers, names the group a
	// source belongs to (for metrics: a few groups, however many sources
	// come and go); Groups then reports counters per group.
	Group func(source string) string

	mu      sync.Mutex
	live    map[*Counters]struct{}
	ended   Stats
	endedBy map[string]*Stats         // ended sources' totals by group; only with Group
	endedTr map[string]TransportStats // ended ITCH sessions' last transport counters, by source
	nextID  uint16
	held    map[uint16]int // live sources by id: a new source's id in turn skips these
	nEnded  uint64
}

// register adds a source started at now (its receive clock). id picks its
// Source id; nil means the next in turn. The source is heard at now before a
// StaleWatch can see it: one seen before would be silent since the epoch.
func (r *Registry) register(source string, id func(string) uint16, now int64) *Counters {
	c := &Counters{source: source, group: source}
	c.hear(now) // silent from its start: stale after the timeout
	if r.Group != nil {
		c.group = r.Group(source)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id != nil {
		c.id = id(source)
	} else {
		c.id = r.nextFreeID()
	}
	if r.live == nil {
		r.live = make(map[*Counters]struct{})
		r.held = make(map[uint16]int)
	}
	r.live[c] = struct{}{}
	r.held[c.id]++
	return c
}

// nextFreeID returns the next id in turn that no live source holds. The ids
// wrap after 65535 sources (a few days of a flapping peer), and a source
// live since before, a feed connected for days, must not share its id with
// a new one: the recorder and a capture's player tell sources apart by it.
// Under r.mu.
func (r *Registry) nextFreeID() uint16 {
	for range math.MaxUint16 {
		r.nextID++
		if r.nextID == 0 {
			r.nextID = 1
		}
		if r.held[r.nextID] == 0 {
			break
		}
	}
	return r.nextID // every id live (far beyond any MaxConns): shared
}

// unregister folds an ended source's last published counters into the totals.
func (r *Registry) unregister(c *Counters) {
	s := c.Snapshot()
	t, hasTr := c.transportStats()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.live[c]; !ok {
		return
	}
	delete(r.live, c)
	if r.held[c.id]--; r.held[c.id] == 0 {
		delete(r.held, c.id)
	}
	r.ended.Add(&s)
	r.nEnded++
	r.foldGroup(c.group, &s)
	if hasTr {
		r.foldTransport(t)
	}
}

// Total is the sum over every source, live or ended.
func (r *Registry) Total() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.ended
	for c := range r.live {
		s := c.Snapshot()
		t.Add(&s)
	}
	return t
}

// Sources snapshots the live sources, in no particular order, and says how
// many sources have ended.
func (r *Registry) Sources() (live []SourceStats, ended uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.live {
		live = append(live, SourceStats{Source: c.source, ID: c.id, Heard: c.heard.Load(), Handing: c.handing.Load() != 0, Stats: c.Snapshot()})
	}
	return live, r.nEnded
}
