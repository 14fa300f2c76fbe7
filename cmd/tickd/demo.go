package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/term"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/sim"
)

// runDemo is `tickd demo` (what `make run` runs): an embedded NATS server, a
// simulated exchange sending over a real TCP socket into the feed listener,
// the engine, and a live view of what subscribers receive.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var gcfg genConfig
	gcfg.register(fs, 2000, "now") // live-looking event times; -start makes them reproducible
	duration := fs.Duration("duration", 0, "stop by itself after this long (0: until Ctrl-C, or -count)")
	natsListen := fs.String("nats-listen", "127.0.0.1:4222", "embedded NATS server's client address (\"off\": in-process only)")
	metricsAddr := fs.String("metrics", "127.0.0.1:9464", "Prometheus /metrics address (a free port if this one is taken; \"\": off)")
	uiAddr := fs.String("ui", "127.0.0.1:8080", "serve the live dashboard here (a free port if taken; \"\" for none)")
	plain := fs.Bool("plain", false, "print lines instead of redrawing the screen (the default when stdout is not a terminal)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd demo [flags]\n\nEmbedded NATS, a simulated exchange over TCP, the engine, and a live view.\n"+
			"While it runs, any NATS client can subscribe (unless -nats-listen off): nats sub 'tickd.>'\n"+
			"It runs until Ctrl-C, -duration, or, with -count N, until the feed has taken the N ticks and the engine applied them.\n\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *duration < 0 { // would run until Ctrl-C
		return fmt.Errorf("-duration %v: want 0 (until Ctrl-C or -count) or more", *duration)
	}
	// Our own cancel, so that a start-up failure can stop what has started.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	log, err := newLogger(stderr, "warn", false)
	if err != nil {
		return err
	}
	g, wopts, err := gcfg.generator() // bad flags fail before anything starts
	if err != nil {
		return err
	}
	metricsAt := freeOr(*metricsAddr)
	if metricsAt != *metricsAddr { // said, as the dashboard's fallback is
		log.Warn().Str("taken", *metricsAddr).Msg("metrics address taken: using a free port")
	}
	cfg, err := serveDefaults("-feed-listen", "127.0.0.1:0", "-feed-format", gcfg.format, "-nats-listen", *natsListen,
		"-metrics", metricsAt, "-ui", *uiAddr)
	if err != nil {
		return err
	}
	cfg.ui.fallback = true
	if gcfg.unpaced {
		// Unpaced, the simulator's event times run ahead of the clock by
		// design (2000 ticks/s of event time, written at millions a
		// second): past serve's -feed-max-ahead, an hour's worth, every
		// tick would be rejected and the demo would stand still.
		cfg.maxAhead = 0
	}
	p, err := startPipeline(ctx, &cfg, log)
	if err != nil {
		return err // a taken NATS port is named; -nats-listen picks another
	}
	v := newView(stdout, *plain || !isTerminal(stdout), p)
	sub, err := bus.Subscribe(p.nc, bus.DefaultPrefix+".>", v.add)
	if err != nil {
		cancel()
		return errors.Join(err, p.Wait())
	}
	simDone := make(chan error, 1)
	go func() {
		err := runDemoSim(ctx, p, g, wopts)
		if ctx.Err() != nil {
			err = nil // stopped: Ctrl-C or -duration
		}
		simDone <- err
		if err != nil || wopts.Count > 0 {
			cancel() // the feed failed, or -count ticks are applied: the demo is over
		}
	}()
	fmt.Fprintf(stdout, "tickd demo: %d symbols at %.0f ticks/s over TCP %s; NATS %s%s\n",
		len(g.Symbols()), g.Rate(), p.FeedAddr(), p.natsDesc(), v.natsHint(" — subscribe with: %s"))
	p.announce(stdout)
	v.run(ctx)
	simErr := <-simDone
	p.drain()
	drainSubscription(sub) // the view shows every record published
	p.closeNATS()
	err = errors.Join(p.errs...)
	v.summary()
	return errors.Join(simErr, err)
}

// runDemoSim sends the simulated feed to p's listener until ctx is done or
// wopts.Count ticks are sent, and then, for a count, waits until the feed
// has read them all and the engine has applied those it took: shutting
// down at once would drop what the feed has not read yet. Ticks the feed
// rejected (a -start more than serve's -feed-max-ahead, 1h, ahead of the
// clock; more -symbols than the table holds) are never applied: waiting
// for them hung the demo.
func runDemoSim(ctx context.Context, p *pipeline, g *sim.Generator, wopts sim.WriteOptions) error {
	c, err := dialRetry(ctx, p.FeedAddr().String(), 5*time.Second)
	if err != nil {
		return err
	}
	_, err = sim.Write(ctx, c, g, wopts)
	c.Close()
	if err != nil || ctx.Err() != nil {
		return err
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !p.fedThrough() {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	return nil
}

// fedThrough says whether the demo's feed connection, closed by the
// sender, has ended (its counters then final) and the engine has taken
// every event the feed decoded from it (the trades and the End frame).
func (p *pipeline) fedThrough() bool {
	live, ended := p.feedStats.Sources()
	return len(live) == 0 && ended > 0 && p.eng.Counters().Events >= p.feedStats.Total().Events
}

// drainSubscription waits (a few seconds at most) until sub has handed on
// every message the server sent before the call.
func drainSubscription(sub *nats.Subscription) {
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	if sub.Drain() != nil {
		return
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
	}
}

// announce writes where the dashboard and the metrics are, if they run.
func (p *pipeline) announce(w io.Writer) {
	p.ui.announce(w)
	if a := p.MetricsAddr(); a != nil {
		fmt.Fprintf(w, "metrics: http://%s/metrics\n", a)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// view keeps what the demo shows: the latest signals, per-symbol stats and
// bars, and throughput. It is fed by a NATS subscription, off the hot path.
type view struct {
	out   io.Writer
	plain bool
	p     *pipeline
	start time.Time

	mu      sync.Mutex
	signals []string // newest last
	symbols map[string]*symView
	counts  struct{ signals, bars, stats int }
}

type symView struct {
	stats *bus.Stats
	bar   *bus.Bar // latest shortest-interval bar
}

const viewSignals = 12

func newView(out io.Writer, plain bool, p *pipeline) *view {
	return &view{out: out, plain: plain, p: p, start: time.Now(), symbols: map[string]*symView{}}
}

func (v *view) sym(name string) *symView {
	s := v.symbols[name]
	if s == nil {
		s = &symView{}
		v.symbols[name] = s
	}
	return s
}

func (v *view) add(m bus.Message) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch m := m.(type) {
	case *bus.Signal:
		v.counts.signals++
		line := formatMessage(m)
		if v.plain {
			fmt.Fprintln(v.out, line)
		}
		v.signals = append(v.signals, line)
		if len(v.signals) > viewSignals {
			v.signals = v.signals[1:]
		}
	case *bus.Bar:
		v.counts.bars++
		s := v.sym(m.Symbol)
		if s.bar == nil || m.Interval <= s.bar.Interval {
			s.bar = m
		}
	case *bus.Stats:
		v.counts.stats++
		v.sym(m.Symbol).stats = m
	}
}

// run redraws (or, plain, prints a summary line) until ctx is done.
func (v *view) run(ctx context.Context) {
	every := 500 * time.Millisecond
	if v.plain {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if v.plain {
				v.summary()
			} else {
				v.draw()
			}
		}
	}
}

// natsHint formats (one %s) the command that subscribes to everything,
// when the embedded server listens on a port: with -nats-listen off no
// client can reach it, and the hint is "".
func (v *view) natsHint(format string) string {
	if v.p.srv != nil && v.p.srv.Addr() == nil {
		return ""
	}
	return fmt.Sprintf(format, "nats sub 'tickd.>'")
}

func (v *view) throughput() string {
	el := time.Since(v.start).Seconds()
	c := v.p.eng.Counters()
	return fmt.Sprintf("up %5.1fs  ticks %d (%.0f/s)  signals %d  bars %d  symbols %d",
		el, c.Trades, float64(c.Trades)/el, v.counts.signals, v.counts.bars, len(v.symbols))
}

func (v *view) summary() {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintln(v.out, "--", v.throughput())
}

func (v *view) draw() {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	b.WriteString("\x1b[H\x1b[2J") // home, clear
	fmt.Fprintf(&b, "tickd demo — %s   (Ctrl-C to stop%s)\n", v.throughput(), v.natsHint("; %s to watch"))
	v.p.announce(&b)
	b.WriteByte('\n')
	fmt.Fprintf(&b, "%-6s %10s %10s %10s %10s %7s %10s %9s\n", "SYMBOL", "LAST", "SMA", "EMA", "VWAP", "Z", "1s CLOSE", "1s VOL")
	names := make([]string, 0, len(v.symbols))
	for n := range v.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i == 20 {
			fmt.Fprintf(&b, "... and %d more\n", len(names)-20)
			break
		}
		s := v.symbols[n]
		if s.stats == nil {
			continue
		}
		closePx, vol := "", ""
		if s.bar != nil {
			closePx, vol = s.bar.Close.String(), fmt.Sprint(s.bar.Volume)
		}
		fmt.Fprintf(&b, "%-6s %10s %10.3f %10.3f %10.3f %7.2f %10s %9s\n", n, s.stats.Last, s.stats.SMA, s.stats.EMA, s.stats.VWAP, s.stats.ZScore, closePx, vol)
	}
	b.WriteString("\nLatest signals:\n")
	for _, l := range v.signals {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	io.WriteString(v.out, b.String())
}
