package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/feed/mold"
	"github.com/tickd/tickd/feed/soupbin"
	"github.com/tickd/tickd/sim/itchsim"
)

// itchFlags are gen's flags that only -format itch uses.
type itchFlags struct {
	liveOrders  int
	creds       string
	linger      time.Duration
	moldSession string
	rewind      string
	drop        float64
	toB         string
}

const itchUsage = `
With -format itch, gen simulates a NASDAQ TotalView-ITCH 5.0 session (system
events, stock directory, L3 order flow, trades, halts) and -to/-out take:
  -out FILE                 NASDAQ daily-file framing (2-byte length + message); "-" for stdout
  -to soupbin://HOST:PORT   listen as a SoupBinTCP server (port 0: any; the bound
                            address is printed to stderr). Credentials come from
                            TICKD_SOUPBIN_USERNAME/_PASSWORD/_SESSION or -creds FILE,
                            never argv; with neither, user "tickd", password "tickd", session "1".
                            The whole session is kept in memory for replay.
  -to mold://HOST:PORT      send MoldUDP64 to HOST:PORT (unicast or multicast group),
                            a heartbeat after each second without data,
                            with a rewind server on -rewind (address printed to stderr);
                            -to-b mold://HOST:PORT adds a B line.
After the session ends the server (soupbin, mold rewind) stays up for -linger.
-count counts order-flow messages; -duration is event time; -rate defaults to
10000 messages/s. ITCH times count from midnight in New York: the session opens at
-start's time of day there (the default, 14:30Z, is 09:30). The same flags and -seed give the same bytes on every target.
`

func (f *itchFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.liveOrders, "live-orders", 0, "itch: resting orders kept live across all symbols (default 200 per symbol)")
	fs.StringVar(&f.creds, "creds", "", "itch soupbin: credentials file (username=, password=, session= lines)")
	fs.DurationVar(&f.linger, "linger", 5*time.Second, "itch soupbin/mold: keep serving this long after the session ends")
	fs.StringVar(&f.moldSession, "mold-session", "TICKD00001", "itch mold: MoldUDP64 session name (at most 10 bytes)")
	fs.StringVar(&f.rewind, "rewind", "127.0.0.1:0", "itch mold: rewind (retransmission) server listen address")
	fs.Float64Var(&f.drop, "drop", 0, "itch mold: probability 0..1 of dropping each data packet (seeded by -seed)")
	fs.StringVar(&f.toB, "to-b", "", "itch mold: optional B line, mold://HOST:PORT")
}

// itchServerFlags are the transports each of the ITCH server flags applies
// to (gen -to, replay -exchange); elsewhere they would be ignored.
var itchServerFlags = map[string][]string{"creds": {"soupbin"}, "linger": {"soupbin", "mold"},
	"mold-session": {"mold"}, "rewind": {"mold"}, "drop": {"mold"}, "to-b": {"mold"}}

// checkITCHServerFlags refuses the ITCH server flags given that the output
// would ignore: a -to-b with soupbin:// serves no B line, a -creds with
// mold:// checks nothing. url is the -to or -exchange URL ("" for none);
// target says in the error how the output was given ("with -to URL").
func checkITCHServerFlags(given []string, url, target string) error {
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		scheme = ""
	}
	var unused []string
	for _, name := range given {
		if ts, ok := itchServerFlags[name]; ok && !slices.Contains(ts, scheme) {
			unused = append(unused, fmt.Sprintf("-%s (%s:// only)", name, strings.Join(ts, ":// and ")))
		}
	}
	if len(unused) == 0 {
		return nil
	}
	return fmt.Errorf("%s would be ignored %s", strings.Join(unused, ", "), target)
}

// itchSink is where the ITCH stream goes: one message at a time, flushed
// before the pacer sleeps, finished once after the last message.
type itchSink interface {
	add(msg []byte) error
	flush() error
	// heartbeat runs after each itchHeartbeat of a pause: MoldUDP64
	// heartbeats, by which receivers learn of a lost last packet before the
	// next one and tell an idle line from a dead one.
	heartbeat() error
	finish(ctx context.Context) error
}

// itchHeartbeat is the silence after which a MoldUDP64 heartbeat goes out
// (the SoupBinTCP server keeps its own, of the same second).
const itchHeartbeat = time.Second

// pause sleeps d, with a heartbeat into each itchHeartbeat of it.
func pause(ctx context.Context, sink itchSink, d time.Duration) error {
	for d > 0 && ctx.Err() == nil {
		step := min(d, itchHeartbeat)
		feed.SleepContext(ctx, step)
		if d -= step; d > 0 {
			if err := sink.heartbeat(); err != nil {
				return err
			}
		}
	}
	return nil
}

// runGenITCH is `tickd gen -format itch`.
func runGenITCH(ctx context.Context, fs *flag.FlagSet, cfg *genConfig, f *itchFlags, to, out string, stdout, stderr io.Writer) error {
	if err := cfg.check(); err != nil {
		return err
	}
	icfg := itchsim.Config{Symbols: cfg.names, Count: cfg.symbols, Seed: cfg.seed, Rate: cfg.rate,
		LiveOrders: f.liveOrders, Messages: cfg.count}
	// gen's -rate default suits trades; an ITCH feed is busier, so without
	// -rate take itchsim's default (10000 messages/s).
	if !flagSet(fs, "rate") {
		icfg.Rate = 0
	}
	t, err := cfg.startTime()
	if err != nil {
		return err
	}
	if !t.IsZero() {
		if icfg.Start, err = sinceMidnight(t); err != nil {
			return err
		}
	}
	g, err := itchsim.New(icfg)
	if err != nil {
		return err
	}
	var sink itchSink
	switch {
	case out == "-":
		sink = newFileSink(stdout)
	case out != "":
		fh, err := os.Create(out)
		if err != nil {
			return err
		}
		defer fh.Close()
		sink = newFileSink(fh)
	case strings.HasPrefix(to, "soupbin://"):
		if sink, err = newSoupSink(ctx, "tickd gen", strings.TrimPrefix(to, "soupbin://"), f, stderr); err != nil {
			return err
		}
	case strings.HasPrefix(to, "mold://"):
		if sink, err = newMoldSink(ctx, "tickd gen", strings.TrimPrefix(to, "mold://"), cfg.seed, f, stderr); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-format itch: -to wants soupbin://HOST:PORT or mold://HOST:PORT, not %q", to)
	}

	var n, bytes int64
	start := time.Now()
	err = genITCHLoop(ctx, cfg, g, sink, func(msg []byte) { n++; bytes += int64(len(msg)) })
	if err == nil {
		err = sink.flush()
	}
	el := time.Since(start) // the run's, not the -linger a server's finish waits out
	if err == nil {
		err = sink.finish(ctx)
	}
	st := g.Stats()
	if fs, ok := sink.(*fileSink); ok { // after a failed write, fewer reached the file
		n, bytes = fs.written()
	}
	// The messages' own bytes, which a file's 2-byte length prefixes and
	// the transports' packet headers come on top of.
	fmt.Fprintf(stderr, "tickd gen: %d itch messages (%d bytes, framing aside) written in %v (%.0f msg/s), %d live orders at peak\n",
		n, bytes, el.Round(time.Millisecond), float64(n)/el.Seconds(), st.PeakLive)
	return err
}

// genITCHLoop hands the generator's messages to sink, paced by their
// times unless unpaced, until the session ends (at -duration or ctx's end,
// closed properly) or a write fails; sent sees each message handed over.
func genITCHLoop(ctx context.Context, cfg *genConfig, g *itchsim.Generator, sink itchSink, sent func(msg []byte)) error {
	var (
		msg   = make([]byte, 0, 64)
		start = time.Now()
		first = int64(-1)
	)
	for {
		if ctx.Err() != nil || (cfg.duration > 0 && first >= 0 && g.Timestamp()-first > int64(cfg.duration)) {
			g.End() // close the session properly: S M, S E, S C
		}
		var ok bool
		if msg, ok = g.Next(msg[:0]); !ok {
			break
		}
		ts := g.Timestamp()
		if first < 0 {
			first = ts
		}
		if !cfg.unpaced && ctx.Err() == nil {
			if wait := time.Until(start.Add(time.Duration(ts - first))); wait > 0 {
				if err := sink.flush(); err != nil {
					return err
				}
				// Sleep at least a millisecond (the timer's real granularity)
				// and let the next messages catch up in a batch.
				if err := pause(ctx, sink, max(wait, time.Millisecond)); err != nil {
					return err
				}
			}
		}
		if err := sink.add(msg); err != nil {
			return err
		}
		sent(msg)
	}
	return nil
}

// sinceMidnight is t's time of day in New York, which ITCH times count
// from: -start 2026-01-02T14:30:00Z opens the session at 09:30.
func sinceMidnight(t time.Time) (time.Duration, error) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		return 0, fmt.Errorf("-start: ITCH times count from midnight in New York: %w", err)
	}
	y, m, d := t.In(ny).Date()
	return t.Sub(time.Date(y, m, d, 0, 0, 0, 0, ny)), nil
}

// fileSink writes the NASDAQ daily-file framing, 64 KiB at a time.
type fileSink struct {
	w    io.Writer
	buf  []byte                       // framed messages not written yet
	ends []int                        // where each message in buf ends: a short write counts those it finished
	done struct{ msgs, framed int64 } // the messages that reached the file, and their bytes with their prefixes
}

const fileSinkBuffer = 64 << 10

func newFileSink(w io.Writer) *fileSink {
	return &fileSink{w: w, buf: make([]byte, 0, fileSinkBuffer+512)}
}

func (s *fileSink) add(msg []byte) error {
	s.buf = itch.AppendFramed(s.buf, msg)
	s.ends = append(s.ends, len(s.buf))
	if len(s.buf) >= fileSinkBuffer {
		return s.flush()
	}
	return nil
}

func (s *fileSink) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	n, err := s.w.Write(s.buf)
	if k := sort.SearchInts(s.ends, n+1); k > 0 { // the messages that end within n
		s.done.msgs += int64(k)
		s.done.framed += int64(s.ends[k-1])
	}
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	return err
}

func (s *fileSink) heartbeat() error               { return nil }
func (s *fileSink) finish(_ context.Context) error { return s.flush() }

// written is what reached the file: the messages and their bytes (framing
// aside), after a failed write fewer than were added.
func (s *fileSink) written() (msgs, bytes int64) {
	return s.done.msgs, s.done.framed - 2*s.done.msgs
}

// soupSink is a SoupBinTCP server over an in-memory store.
type soupSink struct {
	store  *soupbin.Store
	cancel context.CancelFunc
	done   chan error
	linger time.Duration
}

func itchCredentials(f *itchFlags) (soupbin.Credentials, error) {
	if f.creds != "" {
		return soupbin.CredentialsFromFile(f.creds)
	}
	if os.Getenv("TICKD_SOUPBIN_USERNAME") != "" {
		return soupbin.CredentialsFromEnv("TICKD_SOUPBIN_")
	}
	return soupbin.Credentials{Username: "tickd", Password: "tickd", Session: "1"}, nil
}

// newSoupSink serves a SoupBinTCP session on addr, saying where on stderr
// as command (tickd gen, tickd replay).
func newSoupSink(ctx context.Context, command, addr string, f *itchFlags, stderr io.Writer) (*soupSink, error) {
	creds, err := itchCredentials(f)
	if err != nil {
		return nil, err
	}
	store := soupbin.NewStore()
	srv, err := soupbin.NewServer(soupbin.ServerOptions{Addr: addr, Credentials: creds, Store: store})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "%s: soupbin listening on %s\n", command, srv.Addr())
	// finish stops the server, after the session's end: stopped with ctx
	// (an interrupt) it would drop its clients before they had the end.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &soupSink{store: store, cancel: cancel, done: make(chan error, 1), linger: f.linger}
	go func() { s.done <- srv.Serve(sctx) }()
	return s, nil
}

func (s *soupSink) add(msg []byte) error { s.store.Append(msg); return nil }
func (s *soupSink) flush() error         { return nil }
func (s *soupSink) heartbeat() error     { return nil } // the server heartbeats each client

func (s *soupSink) finish(ctx context.Context) error {
	s.store.End()
	feed.SleepContext(ctx, s.linger)
	s.cancel()
	return <-s.done
}

// moldSink sends MoldUDP64 on one or two lines and answers rewinds from a store.
type moldSink struct {
	lines  []*mold.Sender
	store  *soupbin.Store
	cancel context.CancelFunc
	done   chan error
	linger time.Duration
}

func newMoldSink(ctx context.Context, command, addr string, seed uint64, f *itchFlags, stderr io.Writer) (_ *moldSink, err error) {
	if f.drop < 0 || f.drop > 1 {
		return nil, fmt.Errorf("-drop %v not in 0..1", f.drop)
	}
	addrs := []string{addr}
	if f.toB != "" {
		b, ok := strings.CutPrefix(f.toB, "mold://")
		if !ok {
			return nil, fmt.Errorf("-to-b wants mold://HOST:PORT, not %q", f.toB)
		}
		addrs = append(addrs, b)
	}
	s := &moldSink{store: soupbin.NewStore(), done: make(chan error, 1), linger: f.linger}
	defer func() {
		if err != nil {
			for _, l := range s.lines {
				l.Close()
			}
		}
	}()
	for i, a := range addrs {
		opts := mold.SenderOptions{Session: f.moldSession, Addr: a}
		if f.drop > 0 {
			// Each line loses its own packets, reproducibly for a seed.
			rng := rand.New(rand.NewPCG(seed, 0xd5a9+uint64(i)))
			p := f.drop
			opts.Drop = func(uint64, int) bool { return rng.Float64() < p }
		}
		l, err := mold.NewSender(opts)
		if err != nil {
			return nil, err
		}
		s.lines = append(s.lines, l)
	}
	rw, err := mold.NewRewindServer(mold.RewindOptions{Addr: f.rewind, Session: f.moldSession, Store: s.store})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "%s: mold session %s to %s, rewind server on %s\n", command, f.moldSession, strings.Join(addrs, ","), rw.Addr())
	rctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go func() { s.done <- rw.Serve(rctx) }()
	return s, nil
}

func (s *moldSink) add(msg []byte) error {
	s.store.Append(msg) // first: a rewind may ask for it as soon as it is sent
	for _, l := range s.lines {
		if _, err := l.Add(msg); err != nil {
			return err
		}
	}
	return nil
}

func (s *moldSink) flush() error     { return s.each((*mold.Sender).Flush) }
func (s *moldSink) heartbeat() error { return s.each((*mold.Sender).Heartbeat) }

// each runs f on every line, joining the errors.
func (s *moldSink) each(f func(*mold.Sender) error) error {
	var errs []error
	for _, l := range s.lines {
		errs = append(errs, f(l))
	}
	return errors.Join(errs...)
}

// finish sends end of session, repeating it while lingering (a lost marker
// would leave receivers waiting), then stops the rewind server.
func (s *moldSink) finish(ctx context.Context) error {
	s.store.End()
	var errs []error
	end := func() {
		for _, l := range s.lines {
			if err := l.End(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	end()
	// Repeats are best effort: a receiver that has gone away makes the
	// kernel refuse them (ICMP), which is no failure of ours.
	for deadline := time.Now().Add(s.linger); ctx.Err() == nil && len(errs) == 0; {
		wait := min(time.Until(deadline), 500*time.Millisecond)
		if wait <= 0 {
			break
		}
		feed.SleepContext(ctx, wait)
		for _, l := range s.lines {
			l.End()
		}
	}
	s.cancel()
	errs = append(errs, <-s.done)
	for _, l := range s.lines {
		l.Close()
	}
	return errors.Join(errs...)
}
