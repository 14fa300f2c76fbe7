package feed

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/feed/mold"
	"github.com/tickd/tickd/feed/soupbin"
	"github.com/tickd/tickd/tick"
)

// ITCHGapError reports ITCH messages First..Last (sequence numbers,
// inclusive) lost for good: a MoldUDP64 gap the rewind server did not fill
// in time, or a SoupBinTCP server that resumed past the sequence asked for.
// The session goes on after it; an L3 book built across it may be wrong.
type ITCHGapError struct {
	First, Last uint64
}

func (e *ITCHGapError) Error() string {
	return "feed: ITCH messages " + strconv.FormatUint(e.First, 10) + ".." +
		strconv.FormatUint(e.Last, 10) + " lost (not recovered)"
}

// itchReason maps the decoder's rejection reasons onto the Registry's.
var itchReason = [itch.NumReasons]Reason{
	itch.ReasonEmpty:           ReasonBadLength,
	itch.ReasonUnknownType:     ReasonUnknownType,
	itch.ReasonBadLength:       ReasonBadLength,
	itch.ReasonUnknownLocate:   ReasonUnknownSymbol,
	itch.ReasonBadSide:         ReasonBadSide,
	itch.ReasonBadPrintable:    ReasonBadSide, // a one-byte indicator flag, like the side
	itch.ReasonBadSymbol:       ReasonBadSymbol,
	itch.ReasonSymbolTableFull: ReasonSymbolTableFull,
	itch.ReasonPriceRange:      ReasonBadPrice,
	itch.ReasonQtyRange:        ReasonBadQty,
	itch.ReasonTruncated:       ReasonTruncated,
	itch.ReasonStockMismatch:   ReasonStockMismatch,
}

// RunITCH runs one ITCH 5.0 session described by cfg (see ParseITCHURL) into
// one Sink from open, decoding each message in place into a claimed slot:
// OpenITCH, then Run. Of opts, Symbols (required), OnError, Stats,
// SourceID, Clock, SessionDate and ReconnectMin/Max (SoupBinTCP backoff)
// apply.
//
// The Sink is opened once, after the credentials are loaded and (mold) the
// sockets bound, and is kept across SoupBinTCP reconnects: the client
// resumes at the next sequence, so nothing is lost or repeated. Slots are
// claimed at the first message of a read burst (SoupBinTCP) or datagram
// (MoldUDP64) and committed at its end. Event.Seq is the transport sequence.
//
// Rejected messages are counted (Stats, by Reason) and reported to OnError
// with the source name and the message's sequence as both offset and seq
// (explained: an *itch.MessageError naming the message's type, locate and
// field at fault, a stock mismatch an *itch.StockMismatchError naming the
// stocks);
// lost messages are counted as gaps and reported as *ITCHGapError;
// disconnects are reported and retried.
//
// At the end of the session RunITCH writes one tick.KindEndOfStream event,
// closes the Sink and returns nil. When ctx is done or the Sink shuts down
// it closes the Sink and returns nil, like DialTCP. Other errors (bad
// options or credentials, sockets that cannot be bound, a rejected login)
// are returned, with the Sink closed if it was opened.
func RunITCH(ctx context.Context, cfg ITCHSourceConfig, open SinkOpener, opts Options) error {
	if open == nil {
		return errors.New("feed: RunITCH: nil SinkOpener")
	}
	s, err := OpenITCH(cfg, opts)
	if err != nil {
		return err
	}
	return s.Run(ctx, open)
}

// ITCHSession is an ITCH session ready to run: its options checked, its
// credentials loaded (SoupBinTCP) and its sockets bound (MoldUDP64), so a
// caller can refuse a session that cannot start (a port taken, a rewind
// host that does not resolve) before anything runs, as a listener is.
type ITCHSession struct {
	cfg       ITCHSourceConfig
	o         Options
	r         *itchRun
	run       func(ctx context.Context, h func(uint64, []byte)) error
	transport func() TransportStats
	release   func() // closes the bound sockets (mold)
}

// OpenITCH prepares the session cfg describes; see RunITCH for opts. Run
// it, or Close it.
func OpenITCH(cfg ITCHSourceConfig, opts Options) (*ITCHSession, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &ITCHSession{cfg: cfg, o: o, release: func() {}}
	s.r = &itchRun{o: &s.o}
	r := s.r
	switch cfg.Transport {
	case TransportSoupBin:
		r.name = "soupbin " + cfg.Addr
		c, err := newSoupBinClient(cfg, &s.o, r)
		if err != nil {
			return nil, err
		}
		r.soup = c
		s.transport = r.soupBinStats
		// The client skips silently what a server no longer has, at the
		// first login as at a reconnect: seq is what the URL asked for.
		r.gapCheck, r.expect = true, cfg.Seq
		s.run = c.Run
	case TransportMold:
		r.name = "mold " + cfg.Addr
		if cfg.B != "" {
			r.name += "+" + cfg.B
		}
		lines := []string{cfg.Addr}
		if cfg.B != "" {
			lines = append(lines, cfg.B)
		}
		rcv, err := mold.NewReceiver(mold.ReceiverOptions{
			Lines: lines, Interface: cfg.Iface, Session: cfg.Session, Next: cfg.Seq, Rewind: cfg.Rewind,
			OnGap:      func(first, count uint64) { r.gap(first, count) },
			OnBatchEnd: r.batchEnd,
		})
		if err != nil {
			return nil, fmt.Errorf("feed: %s: %w", r.name, err)
		}
		s.transport = func() TransportStats { return moldStats(rcv) }
		s.run = rcv.Run
		s.release = func() { rcv.Close() }
	default:
		return nil, fmt.Errorf("feed: RunITCH: unknown transport %q (want soupbin or mold)", cfg.Transport)
	}
	return s, nil
}

// Config is the session's configuration, as given to OpenITCH.
func (s *ITCHSession) Config() ITCHSourceConfig { return s.cfg }

// Close releases a session that will not Run (Run releases it itself).
func (s *ITCHSession) Close() { s.release() }

// Run runs the session into one Sink from open, as RunITCH describes. It
// may be called once.
func (s *ITCHSession) Run(ctx context.Context, open SinkOpener) error {
	defer s.release()
	if open == nil {
		return errors.New("feed: ITCHSession.Run: nil SinkOpener")
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	r, o, name, transport := s.r, &s.o, s.r.name, s.transport
	r.stop = stop
	sink, err := open(name)
	if err != nil {
		if ctx.Err() != nil { // a shutdown that came first: the engine refuses new inputs
			return nil
		}
		err = fmt.Errorf("feed: %s: open sink: %w", name, err)
		o.report(name, 0, 0, err)
		return err
	}
	r.sink = sink
	r.ctrs = o.Stats.register(name, o.SourceID, o.Clock())
	r.ctrs.transport.Store(&transport)
	if r.tap = o.Tap; r.tap != nil {
		r.tap.Open(r.ctrs.id, name)
	}
	r.dec, err = itch.NewDecoder(itch.Options{Symbols: o.Symbols, SessionDate: o.SessionDate, Source: r.ctrs.id})
	if err == nil {
		err = s.run(ctx, r.handle)
	}
	r.flush()
	if errors.Is(err, soupbin.ErrEndOfSession) || errors.Is(err, mold.ErrEndOfSession) {
		r.endOfStream()
		err = nil
	}
	if r.done || ctx.Err() != nil {
		err = nil
	}
	r.close()
	if err != nil {
		err = fmt.Errorf("feed: %s: %w", name, err)
	}
	return err
}

// Credentials loads a SoupBinTCP session's login: from CredsFile, else from
// the environment (SoupBinEnvPrefix), its session replaced by the URL's if
// given. RunITCH loads them itself; a caller can load them first to refuse
// a missing file or variable before anything starts.
func (c ITCHSourceConfig) Credentials() (soupbin.Credentials, error) {
	var (
		cr  soupbin.Credentials
		err error
	)
	if c.CredsFile != "" {
		cr, err = soupbin.CredentialsFromFile(c.CredsFile)
	} else {
		cr, err = soupbin.CredentialsFromEnv(SoupBinEnvPrefix)
	}
	if err != nil {
		return cr, fmt.Errorf("feed: soupbin %s: %w", c.Addr, err)
	}
	if c.Session != "" {
		cr.Session = c.Session
	}
	return cr, nil
}

// newSoupBinClient loads the credentials and builds the client, with r's
// hooks.
func newSoupBinClient(cfg ITCHSourceConfig, o *Options, r *itchRun) (*soupbin.Client, error) {
	cr, err := cfg.Credentials()
	if err != nil {
		return nil, err
	}
	c, err := soupbin.NewClient(soupbin.Options{
		Addr: cfg.Addr, Credentials: cr, Sequence: cfg.Seq,
		// Any packet the protocol allows: a smaller limit would drop the link
		// on a large packet and fail the same way after every reconnect.
		MaxLength:  soupbin.MaxLength,
		BackoffMin: o.ReconnectMin, BackoffMax: o.ReconnectMax,
		OnDisconnect: func(err error) { r.disconnected(err) },
		OnBatchEnd:   r.batchEnd,
	})
	if err != nil {
		return nil, fmt.Errorf("feed: soupbin %s: %w", cfg.Addr, err)
	}
	return c, nil
}

// itchRun is one session's state. Every method runs on the transport's Run
// goroutine (handler, OnGap, OnBatchEnd, OnDisconnect), or after Run.
type itchRun struct {
	name  string
	o     *Options
	dec   *itch.Decoder
	sink  Sink
	ctrs  *Counters
	stats Stats
	stop  context.CancelFunc
	tap   Tap   // Options.Tap, or nil
	recv  int64 // receive time of the current batch

	slots    []tick.Event // claimed for the current batch; nil between batches
	k        int          // slots written
	last     uint64       // sequence of the last message handed on; 0 before the first
	dirty    bool         // counters changed since the last publish
	done     bool         // the sink is shutting down: drop everything
	gapCheck bool         // report sequence jumps seen by the handler as gaps
	expect   uint64       // gapCheck: the sequence due next; 0 takes any

	soup       *soupbin.Client // SoupBinTCP only
	downLogins atomic.Uint64   // soup's Logins at its last disconnect: logged in while Logins is above
}

// handle decodes one message into the next slot of the batch. It does not
// allocate (except interning a never-seen symbol, once per name, and
// explaining a rejected message for its report).
func (r *itchRun) handle(seq uint64, msg []byte) {
	if r.done {
		return
	}
	if r.gapCheck {
		if r.expect != 0 && seq > r.expect {
			r.gap(r.expect, seq-r.expect)
		}
		r.expect = seq + 1
	}
	r.last = seq
	r.dirty = true
	r.stats.Frames++
	r.stats.Bytes += uint64(len(msg))
	if r.slots == nil {
		// The first message of a batch stamps its receive time.
		r.recv = r.o.Clock()
		r.dec.SetRecvTime(r.recv)
		if r.ctrs != nil {
			r.ctrs.handingOn(r.recv) // until batchEnd: held up by the engine, not silent
		}
	}
	if r.k == len(r.slots) && !r.claim() {
		return // not applied, so not tapped: a replay applies what the live session did
	}
	if r.tap != nil {
		r.tap.Data(r.ctrs.id, r.recv, msg)
	}
	ok, err := r.dec.Decode(msg, &r.slots[r.k])
	if ok {
		r.slots[r.k].Seq = seq
		r.k++
		return
	}
	if err == nil && len(msg) > 0 && itch.MsgLen[msg[0]] == 0 {
		err = itch.ReasonUnknownType // skipped by the decoder without an error; still a bad message here
	}
	if err != nil {
		r.reject(seq, msg, err)
	}
}

// claim commits the full batch, if any, and claims fresh slots. It reports
// false when the sink is shutting down, and then stops the session.
func (r *itchRun) claim() bool {
	if r.slots != nil {
		r.commit()
	}
	r.slots = r.sink.Claim(maxClaim)
	if r.slots == nil {
		r.done = true
		r.stop()
		return false
	}
	return true
}

func (r *itchRun) commit() {
	r.sink.Commit(r.k)
	r.stats.Events += uint64(r.k)
	r.k = 0
}

// batchEnd runs after every read burst or datagram, heartbeats included:
// the session is alive. It flushes the batch, then waits for its peer: the
// time its burst took to hand on (behind a full engine ring, or, fused,
// running the engine and publishing in the commit) was no silence.
func (r *itchRun) batchEnd() {
	r.flush()
	if r.ctrs != nil {
		r.ctrs.handedOn(r.o.Clock())
	}
}

// flush commits what the last packet or read burst decoded and publishes
// the counters. It is cheap when nothing happened since the last call.
func (r *itchRun) flush() {
	if r.slots != nil {
		r.commit()
		r.slots = nil
	}
	if r.dirty && r.ctrs != nil {
		r.ctrs.publish(&r.stats)
		r.dirty = false
	}
}

// reject counts and reports msg, which the decoder refused with err
// (explained: a report may name what the message did).
func (r *itchRun) reject(seq uint64, msg []byte, err error) {
	fr := ReasonBadLength
	if ir, ok := err.(itch.Reason); ok && ir < itch.NumReasons {
		fr = itchReason[ir]
	}
	r.stats.Errors++
	r.stats.ByReason[fr]++
	r.o.report(r.name, int64(seq), seq, r.dec.Explain(msg, err))
}

// gap counts and reports count messages from first lost.
func (r *itchRun) gap(first, count uint64) {
	r.stats.Gaps++
	r.stats.Missed += count
	r.dirty = true
	r.o.report(r.name, int64(first), first, &ITCHGapError{First: first, Last: first + count - 1})
}

// disconnected reports a lost SoupBinTCP link; the client then reconnects.
func (r *itchRun) disconnected(err error) {
	if r.soup != nil {
		r.downLogins.Store(r.soup.Stats().Logins)
	}
	r.flush()
	r.o.report(r.name, int64(r.last), r.last+1, &SourceError{Op: SourceDial,
		Err: fmt.Errorf("feed: %s: disconnected, reconnecting: %w", r.name, err)})
}

// endOfStream writes the session's KindEndOfStream event.
func (r *itchRun) endOfStream() {
	if r.done || r.dec == nil {
		return
	}
	r.dec.SetRecvTime(r.o.Clock())
	slots := r.sink.Claim(1)
	if slots == nil {
		r.done = true
		return
	}
	r.dec.EndOfStream(&slots[0])
	if r.last != 0 {
		slots[0].Seq = r.last + 1
	}
	r.sink.Commit(1)
	r.stats.Events++
	r.dirty = true
}

// close publishes the last counters, retires them and closes the sink.
func (r *itchRun) close() {
	if r.tap != nil {
		r.tap.Close(r.ctrs.id, r.o.Clock())
	}
	r.ctrs.publish(&r.stats)
	r.o.Stats.unregister(r.ctrs)
	r.sink.Close()
	r.o.ended(r.name)
}
