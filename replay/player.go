package replay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/tick"
)

// PlayerOptions configure a Player. Zero fields take the defaults noted;
// NewPlayer then validates them.
type PlayerOptions struct {
	Symbols *tick.SymbolTable // required: names are interned here, as by the live feed
	Open    feed.SinkOpener   // required: one Sink per source (engine.Input in tickd)

	// Speed paces the replay by the recorded times: captures by the
	// receive time of each read, ITCH and text files by event time. 1 is
	// real time, N is N times faster, 0 (the default) as fast as the sinks
	// take it.
	Speed float64

	// From and To keep events with From <= TsEvent <= To (ns since the Unix
	// epoch; 0: unbounded). Events outside are decoded and dropped, and
	// pacing starts at the first event kept and stops past To. With an L3
	// feed (ITCH) the orders added before From are dropped too, so the
	// books count their later executions as unknown orders.
	From, To int64

	// Only keeps the events of these symbols (exact names); empty keeps
	// every symbol. End-of-stream and system events are always kept.
	Only []string

	// Kind forces the kind of every input that is not a capture; zero
	// detects it (DetectInput).
	Kind InputKind

	// SessionDate is the trading day of ITCH inputs (see
	// itch.Options.SessionDate); zero: raw ns since midnight.
	SessionDate time.Time

	MaxFrame int // native: largest frame; text: longest line. Default feed.DefaultMaxFrame

	// MaxAhead rejects, in a capture's native and text streams, a tick
	// whose event time is more than MaxAhead past the receive time
	// recorded with it (feed.ReasonTimeAhead): the check the live session
	// made with the same feed.Options.MaxAhead, so that the replay rejects
	// the same ticks. Other inputs have no receive times: their ticks are
	// taken as they are. 0: no limit.
	MaxAhead time.Duration

	// OnError receives rejected frames, lines and messages, as
	// feed.Options.OnError does. It runs on Run's goroutine. nil drops them
	// (they are still counted: Progress.Rejected).
	OnError func(source string, offset int64, seq uint64, err error)

	// OnDamage receives each damaged block of a capture once, with the
	// capture's path (counted: Progress.Damaged). It runs on Run's
	// goroutine. nil hands them to OnError.
	OnDamage func(path string, d Damage)

	// Clock stamps TsRecv on the events, once per batch: the time they are
	// handed on, so downstream latency is measured from the replay.
	// Default time.Now().UnixNano.
	Clock func() int64

	// Paused starts the Player paused: nothing is played before Resume or Step.
	Paused bool

	// Raw, if set, makes the Player a simulated exchange: inputs are not
	// decoded, each source's bytes go, paced, to the RawSink Raw returns
	// for it (format: the capture's, or "itch"). Only captures and ITCH
	// files play raw; From, To and Only do not apply; Symbols and Open are
	// not needed.
	Raw func(name, format string) (RawSink, error)
}

// RawSink takes a source's bytes as they were read, for re-serving them.
type RawSink interface {
	Write(b []byte) error // one read (native, csv, json) or one ITCH message; b is valid only during the call
	Flush() error         // the Player is about to wait: send what is buffered
	Idle() error          // the Player has waited RawIdle since it flushed, and waits on (a MoldUDP64 heartbeat)
	Close() error         // the source ended
}

// RawIdle is how long a paced wait goes on before the RawSinks hear of
// it (Idle), and again after each RawIdle more: an exchange's heartbeat
// interval, by which receivers tell a quiet line from a dead one.
const RawIdle = time.Second

// Pacing: the Player sleeps only when it is ahead of the schedule by more
// than paceSlack (a sleep costs ~1 ms here whatever is asked), and lets the
// messages due within it go in one batch.
const (
	paceSlack  = 2 * time.Millisecond
	claimBatch = 256
	fileBuffer = 64 << 10
)

// Progress is a snapshot of a Player's counters, for a progress bar.
type Progress struct {
	Input, Inputs int    // the input being played (0-based) and how many there are
	Messages      uint64 // capture reads (Data records), ITCH messages, native frames or text lines
	Events        uint64 // events handed to the sinks (after the filters), end-of-stream events included
	Bytes         uint64 // bytes of the capture records and ITCH messages; of native and text files, bytes read
	First, Pos    int64  // pacing time (ns) of the first and of the latest message
	End           int64  // pacing time of the last message when known (0: unknown)
	Read, Size    int64  // bytes of the input files read so far and in all (a capture's share: by receive time)
	// Kept is whether an event (but an end of stream or a system event)
	// passed From, To and Only; SeenFrom and SeenTo are the least and
	// greatest event times of those the filters looked at (0 without
	// filters), so a caller can say why none passed.
	Kept             bool
	SeenFrom, SeenTo int64
	Damaged          uint64 // damaged capture blocks (skipped, or a torn tail not read)
	Rejected         uint64 // frames, lines and messages the decoders rejected, of the sources ended so far; ITCH files cut inside a message
	Paused           bool
	Done             bool
}

// Fraction is how far the replay is, 0..1, by bytes of the input files.
func (p Progress) Fraction() float64 {
	if p.Done {
		return 1
	}
	if p.Size <= 0 {
		return 0
	}
	return min(1, float64(p.Read)/float64(p.Size))
}

// Player replays capture, ITCH and tick files into Sinks. Run plays the
// inputs in order on the caller's goroutine; Pause, Resume, Step, Paused
// and Progress may be called from any goroutine.
//
// Each source gets its own Sink and decoder: every source of a capture
// (a connection, a tailed file, an ITCH session; Open to Close), and each
// file. A source goes on from one capture file into the next (a rotated
// capture: the Recorder re-announces the open sources at the start of each
// file) when that file re-announces it with the same id and name before its
// first Data or Close record: it keeps its Sink, its decoder's state and
// its place in the schedule. It ends at its Close record, when the next
// file does not re-announce it, or with the last input. Events are decoded
// straight into claimed slots, a batch at a time; at a finite Speed a batch
// is committed before every wait, so nothing due is held back.
type Player struct {
	o      PlayerOptions
	inputs []string
	kinds  []InputKind
	sizes  []int64

	// control, shared with other goroutines
	mu      sync.Mutex
	paused  atomic.Bool // read by Run on every message without the lock
	steps   int         // messages still to play while paused
	wake    chan struct{}
	running atomic.Bool

	// published counters
	pInput, pInputs atomic.Int64
	pMsgs, pEvents  atomic.Uint64
	pBytes          atomic.Uint64
	pDamaged        atomic.Uint64
	pRejected       atomic.Uint64
	pFirst, pPos    atomic.Int64
	pKept           atomic.Bool
	pSeen           [2]atomic.Int64
	pEnd            atomic.Int64
	pRead, pDone    atomic.Int64 // pRead: bytes of finished inputs; pDone: 1 when Run ended
	curRead         atomic.Int64 // bytes of the current input read
	pSize           int64

	// Run's state
	msgs, events, nbytes uint64
	damaged, rejected    uint64
	first, pos           int64
	started              bool     // a message has been paced
	kept                 bool     // an event has passed the filters (pacing starts there)
	seen                 [2]int64 // least and greatest event time keepOne looked at
	pastTo               bool     // an event past To was seen: no more pacing
	paced                bool     // start/base hold a schedule
	start                time.Time
	base                 int64 // pacing time at start
	horizon              int64 // pacing times up to here need no clock check
	newInput             bool
	prevPos              int64
	want                 []uint8 // by SymbolID: 0 unknown, 1 keep, 2 drop
	only                 map[string]bool
	open                 []*stream // streams with a Sink, to flush before sleeping
	one                  [1]tick.Event
	capFirst, capLast    int64 // the capture being played: its receive time range
	capSize              int64
	carried              map[uint16]*stream // sources the last capture file left open, by id
	carriedFormat        string             // that file's format
}

// errSinkDone stops the replay when a Sink shuts down (Claim gave nil).
var errSinkDone = errors.New("replay: sink is shutting down")

// NewPlayer checks opts and the inputs (they must exist; their kind is
// detected now) and returns a Player ready to Run.
func NewPlayer(inputs []string, opts PlayerOptions) (*Player, error) {
	var errs []error
	if len(inputs) == 0 {
		errs = append(errs, errors.New("replay: no inputs"))
	}
	if opts.Symbols == nil && opts.Raw == nil {
		errs = append(errs, errors.New("replay: PlayerOptions.Symbols is required"))
	}
	if opts.Open == nil && opts.Raw == nil {
		errs = append(errs, errors.New("replay: PlayerOptions.Open is required"))
	}
	if opts.Speed < 0 || opts.Speed != opts.Speed {
		errs = append(errs, fmt.Errorf("replay: Speed %v: want 0 (max) or more", opts.Speed))
	}
	if opts.To != 0 && opts.To < opts.From {
		errs = append(errs, fmt.Errorf("replay: To %d before From %d", opts.To, opts.From))
	}
	if opts.Kind == InputCapture {
		errs = append(errs, errors.New("replay: Kind: captures are recognised by their header; force itch, native, csv or json"))
	}
	if opts.MaxFrame == 0 {
		opts.MaxFrame = feed.DefaultMaxFrame
	}
	if opts.Clock == nil {
		opts.Clock = func() int64 { return time.Now().UnixNano() }
	}
	p := &Player{o: opts, inputs: slices.Clone(inputs), wake: make(chan struct{}, 1)}
	order := captureOrder{}
	var orderErr error // the first only: a list given backwards would fail every file
	for _, in := range inputs {
		k, err := DetectInput(in)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if k == InputCapture && orderErr == nil {
			if orderErr = order.check(in); orderErr != nil {
				errs = append(errs, orderErr)
			}
		}
		if k != InputCapture && opts.Kind != 0 {
			k = opts.Kind
		}
		fi, err := os.Stat(in)
		if err != nil {
			errs = append(errs, fmt.Errorf("replay: %w", err))
			continue
		}
		if opts.Raw != nil && k != InputCapture && k != InputITCH {
			errs = append(errs, fmt.Errorf("replay: %s: only captures and ITCH files can be re-served raw, not %v", in, k))
		}
		p.kinds = append(p.kinds, k)
		p.sizes = append(p.sizes, fi.Size())
		p.pSize += fi.Size()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.Raw != nil {
		p.kept = true // nothing is filtered: pace from the first message
		p.o.From, p.o.To, p.o.Only = 0, 0, nil
	} else if len(opts.Only) > 0 {
		p.only = map[string]bool{}
		for _, s := range opts.Only {
			p.only[s] = true
		}
		p.want = make([]uint8, opts.Symbols.Cap())
	}
	p.paused.Store(opts.Paused)
	p.pInputs.Store(int64(len(inputs)))
	return p, nil
}

// captureOrder checks that the captures of a directory, one recorder's
// files (it holds the directory), are given in the order they were
// recorded, once each: out of it, each file's sources would not go on from
// the file before, and their decoders would lack the state it built.
type captureOrder map[string]recorded // by directory: its last capture

type recorded struct {
	path  string
	start time.Time
}

func (o captureOrder) check(path string) error {
	hdr, err := readHeader(path)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if prev, ok := o[dir]; ok && !hdr.Start.After(prev.start) {
		return fmt.Errorf("replay: %s (recorded from %s) is given after %s (recorded from %s): give a capture's files once each, in name order (%s)",
			path, hdr.Start.UTC().Format(time.RFC3339Nano), prev.path, prev.start.UTC().Format(time.RFC3339Nano), filepath.Join(filepath.Dir(path), "*.cap"))
	}
	o[dir] = recorded{path, hdr.Start}
	return nil
}

// Kinds returns the kind of each input.
func (p *Player) Kinds() []InputKind { return slices.Clone(p.kinds) }

// Pause stops the replay after the message being played; what was decoded
// is handed on first.
func (p *Player) Pause() {
	p.mu.Lock()
	p.paused.Store(true)
	p.steps = 0
	p.mu.Unlock()
	p.poke() // a paced wait ends at once
}

// Resume continues a paused replay, on a fresh schedule from where it is.
func (p *Player) Resume() {
	p.mu.Lock()
	p.paused.Store(false)
	p.steps = 0
	p.mu.Unlock()
	p.poke()
}

// Step plays n more messages and pauses again (it pauses a running replay
// first).
func (p *Player) Step(n int) {
	p.mu.Lock()
	p.paused.Store(true)
	p.steps += max(n, 0)
	p.mu.Unlock()
	p.poke()
}

func (p *Player) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Progress returns the counters as last published (per batch, and whenever
// the Player sleeps or pauses).
func (p *Player) Progress() Progress {
	return Progress{
		Input: int(p.pInput.Load()), Inputs: int(p.pInputs.Load()),
		Messages: p.pMsgs.Load(), Events: p.pEvents.Load(), Bytes: p.pBytes.Load(),
		First: p.pFirst.Load(), Pos: p.pPos.Load(), End: p.pEnd.Load(),
		Read: p.pRead.Load() + p.curRead.Load(), Size: p.pSize,
		Kept: p.pKept.Load(), SeenFrom: p.pSeen[0].Load(), SeenTo: p.pSeen[1].Load(),
		Damaged: p.pDamaged.Load(), Rejected: p.pRejected.Load(),
		Paused: p.paused.Load(), Done: p.pDone.Load() != 0,
	}
}

// publish makes Run's counters visible to Progress.
func (p *Player) publish() {
	p.pMsgs.Store(p.msgs)
	p.pEvents.Store(p.events)
	p.pBytes.Store(p.nbytes)
	p.pDamaged.Store(p.damaged)
	p.pRejected.Store(p.rejected)
	p.pFirst.Store(p.first)
	p.pPos.Store(p.pos)
	p.pKept.Store(p.kept)
	p.pSeen[0].Store(p.seen[0])
	p.pSeen[1].Store(p.seen[1])
	if p.capLast > p.capFirst {
		// A capture's reader exposes no offset: its share read is by time.
		f := float64(p.pos-p.capFirst) / float64(p.capLast-p.capFirst)
		p.curRead.Store(int64(max(0, min(1, f)) * float64(p.capSize)))
	}
}

// Run plays every input in order, then returns nil. Each source ends with
// one tick.KindEndOfStream event (unless its stream carried one) and has its
// Sink closed. Run returns ctx.Err() when ctx is done, nil when a Sink
// shuts down (as feed sources do), or the first input that cannot be read.
// Run may be called once.
func (p *Player) Run(ctx context.Context) (err error) {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("replay: Run called twice")
	}
	defer func() {
		// The sources the last capture file left open end with the replay.
		if eerr := p.endCarried(); err == nil && !errors.Is(eerr, errSinkDone) {
			err = eerr
		}
		p.publish()
		p.pDone.Store(1)
	}()
	for i, in := range p.inputs {
		p.pInput.Store(int64(i))
		p.curRead.Store(0)
		p.newInput = true
		err := p.playInput(ctx, in, p.kinds[i])
		p.curRead.Store(0)
		p.pRead.Add(p.sizes[i])
		switch {
		case errors.Is(err, errSinkDone):
			return nil
		case err != nil:
			return err
		}
	}
	return nil
}

// playInput plays one input of kind k.
func (p *Player) playInput(ctx context.Context, path string, k InputKind) error {
	if k == InputCapture {
		return p.playCapture(ctx, path)
	}
	if err := p.endCarried(); err != nil { // a capture's sources do not go on into other files
		return err
	}
	if k == InputITCH {
		return p.playITCH(ctx, path)
	}
	return p.playFile(ctx, path, k.feedFormat())
}

// report sends a decode or damage report to OnError.
func (p *Player) report(source string, off int64, seq uint64, err error) {
	if p.o.OnError != nil {
		p.o.OnError(source, off, seq, err)
	}
}

// damage counts a damaged block of the capture at path and reports it.
func (p *Player) damage(path string, d Damage) {
	p.damaged++
	if p.o.OnDamage != nil {
		p.o.OnDamage(path, d)
	} else {
		p.report(path, d.Offset, 0, d.Err)
	}
}

// ---- sinks: claim, fill, commit ----

// openStream opens the Sink of a source and its decoder (format "itch" or
// a feed format).
func (p *Player) openStream(name string, id uint16, itchFormat bool, format feed.Format, maxAhead time.Duration) (*stream, error) {
	s := &stream{name: name, id: id}
	var err error
	if p.o.Raw != nil {
		f := format.String()
		if itchFormat {
			f = "itch"
		}
		if s.raw, err = p.o.Raw(name, f); err != nil {
			return nil, fmt.Errorf("replay: %s: %w", name, err)
		}
		p.open = append(p.open, s)
		return s, nil
	}
	if itchFormat {
		s.idec, err = itch.NewDecoder(itch.Options{Symbols: p.o.Symbols, SessionDate: p.o.SessionDate, Source: id})
	} else {
		s.fdec, err = feed.NewDecoder(name, id, feed.Options{Format: format, Symbols: p.o.Symbols, MaxFrame: p.o.MaxFrame,
			OnError: p.o.OnError, MaxAhead: maxAhead})
	}
	if err != nil {
		return nil, err
	}
	if s.sink, err = p.o.Open(name); err != nil {
		return nil, fmt.Errorf("replay: %s: open sink: %w", name, err)
	}
	p.open = append(p.open, s)
	return s, nil
}

// room returns the free claimed slots of s, claiming a fresh batch (and
// stamping its receive time) when they are used up.
func (p *Player) room(s *stream) ([]tick.Event, error) {
	if s.slots == nil || s.k == len(s.slots) {
		p.flush(s)
		if s.slots = s.sink.Claim(claimBatch); s.slots == nil {
			return nil, errSinkDone
		}
		now := p.o.Clock()
		if s.fdec != nil {
			s.fdec.SetRecvTime(now)
			if s.recorded != 0 {
				s.fdec.SetAheadOf(s.recorded)
			}
		} else {
			s.idec.SetRecvTime(now)
		}
	}
	return s.slots[s.k:], nil
}

// flush commits what s decoded.
func (p *Player) flush(s *stream) {
	if s.raw != nil {
		if err := s.raw.Flush(); err != nil && s.rawErr == nil {
			s.rawErr = err
		}
		return
	}
	if s.slots == nil {
		return
	}
	if s.k > 0 {
		last := &s.slots[s.k-1]
		s.lastKind, s.lastTs = last.Kind, last.TsEvent
	}
	s.sink.Commit(s.k)
	p.events += uint64(s.k)
	s.slots, s.k = nil, 0
	p.publish()
}

// idleAll tells every raw stream that the wait goes on; a failure is
// kept, as Flush's is, for the stream's end.
func (p *Player) idleAll() {
	for _, s := range p.open {
		if err := s.raw.Idle(); err != nil && s.rawErr == nil {
			s.rawErr = err
		}
	}
}

func (p *Player) flushAll() {
	for _, s := range p.open {
		p.flush(s)
	}
	p.publish()
}

// endStream flushes a text remainder, writes the EndOfStream event unless
// the stream's last one was one, commits and closes the Sink.
func (p *Player) endStream(s *stream) error {
	if s.raw != nil {
		p.open = slices.DeleteFunc(p.open, func(x *stream) bool { return x == s })
		p.flush(s)
		return errors.Join(s.rawErr, s.raw.Close())
	}
	defer func() {
		p.flush(s)
		s.sink.Close()
		p.open = slices.DeleteFunc(p.open, func(x *stream) bool { return x == s })
		p.rejected += s.rejected()
		p.publish()
	}()
	if s.fdec != nil && len(s.pending) > 0 {
		room, err := p.room(s)
		if err != nil {
			return err
		}
		n := s.fdec.Flush(room[:1], s.pending)
		s.k += p.keep(room[:n])
		s.pending = s.pending[:0]
	}
	if s.k > 0 {
		last := &s.slots[s.k-1]
		s.lastKind, s.lastTs = last.Kind, last.TsEvent
	}
	if s.lastKind == tick.KindEndOfStream {
		return nil
	}
	room, err := p.room(s)
	if err != nil {
		return err
	}
	if s.idec != nil {
		s.idec.EndOfStream(&room[0])
	} else {
		room[0] = tick.Event{TsEvent: s.lastTs, TsRecv: p.o.Clock(), Kind: tick.KindEndOfStream, Source: s.id}
	}
	s.k++
	return nil
}

// endStreams ends every stream of m, in source id order.
func (p *Player) endStreams(m map[uint16]*stream) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(m)) {
		errs = append(errs, p.endStream(m[id]))
	}
	return errors.Join(errs...)
}

// endCarried ends the sources the last capture file left open.
func (p *Player) endCarried() error {
	m := p.carried
	p.carried = nil
	return p.endStreams(m)
}

// ---- filters ----

// keepOne reports whether ev passes From, To and Only.
func (p *Player) keepOne(ev *tick.Event) bool {
	switch ev.Kind {
	case tick.KindEndOfStream, tick.KindSystem:
		return true
	}
	if p.seen[0] == 0 || ev.TsEvent < p.seen[0] {
		p.seen[0] = ev.TsEvent
	}
	p.seen[1] = max(p.seen[1], ev.TsEvent)
	if p.o.From != 0 && ev.TsEvent < p.o.From {
		return false
	}
	if p.o.To != 0 && ev.TsEvent > p.o.To {
		p.pastTo = true
		return false
	}
	if p.want != nil {
		id := int(ev.Symbol)
		if id >= len(p.want) {
			return false
		}
		if p.want[id] == 0 {
			p.want[id] = 2
			if p.only[p.o.Symbols.Name(ev.Symbol)] {
				p.want[id] = 1
			}
		}
		if p.want[id] != 1 {
			return false
		}
	}
	p.kept = true
	return true
}

// keep compacts evs to the events that pass the filters and returns how
// many there are.
func (p *Player) keep(evs []tick.Event) int {
	if p.o.From == 0 && p.o.To == 0 && p.want == nil {
		if len(evs) > 0 {
			p.kept = true
		}
		return len(evs)
	}
	k := 0
	for i := range evs {
		if p.keepOne(&evs[i]) {
			if k != i {
				evs[k] = evs[i]
			}
			k++
		}
	}
	return k
}
