package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/kafka"
	"github.com/tickd/tickd/feed/natsfeed"
	"github.com/tickd/tickd/replay"
	"github.com/tickd/tickd/tick"
)

// pipeline is one running tickd: sources → engine → publisher → NATS.
type pipeline struct {
	log       zerolog.Logger
	syms      *tick.SymbolTable
	eng       *engine.Engine
	srv       *bus.Server // nil with an external server
	nc        *nats.Conn
	pub       *bus.Publisher
	feedStats *feed.Registry
	listener  *feed.TCPListener
	itch      []*feed.ITCHSession // opened before start-up ends; run by startFeeds
	recorder  *replay.Recorder    // nil unless -record
	metrics   *pipelineMetrics    // nil unless -metrics (metrics.go)
	ui        *dashboard          // nil unless -ui
	reports   *limitedLog         // the feed sources' reports (feedOptions), or nil
	kafka     *kafka.Source       // -feed-kafka's, once started, or nil
	natsFeed  *natsfeed.Source    // -feed-nats's, once started, or nil
	natsLog   *natsLog            // the embedded server's log, with p.srv
	connLog   *natsLog            // the publishing connection's async errors (watchNATS)
	natsGone  chan struct{}       // closed when nats.go gives the connection up (watchNATS); natsErr says why
	slowSeen  atomic.Int64        // the embedded server's slow consumers watchServer has logged
	natsErr   error
	// played, set by tickd replay, counts the events its player's
	// decoders handed on and the input they rejected. They report to no
	// feed.Registry: a registered input would be watched for staleness and
	// readiness, and a paused replay is silent, not stale.
	played func() (events, rejected uint64)

	wg    sync.WaitGroup
	feeds sync.WaitGroup // the feed sources: the recorder stops after them
	mu    sync.Mutex
	errs  []error
}

// startPipeline starts every stage; they run until ctx is done, then drain.
func startPipeline(ctx context.Context, cfg *serveConfig, log zerolog.Logger) (*pipeline, error) {
	ecfg, err := cfg.engineConfig()
	if err != nil {
		return nil, err
	}
	src, err := cfg.sources()
	if err != nil {
		return nil, err
	}
	if err := cfg.sec.checkFeedTLS(cfg.listens(src)); err != nil {
		return nil, err
	}
	cfg.sec.warnCertValidity(log, time.Now())
	if _, left := cfg.demoRules(); cfg.rules == nil {
		for _, r := range left {
			log.Warn().Str("rule", r.ID).Int("sma", ecfg.SMA).Float64("max_zscore", engine.MaxZScore(ecfg.SMA)).
				Msg("demo rule left out: its k is past any z-score over sma trades; configure rules to choose your own")
		}
	}
	var emit *publisherEmitter
	if cfg.fused {
		if err := cfg.checkFused(src); err != nil {
			return nil, err
		}
		emit = new(publisherEmitter)
		ecfg.Emit = emit
	}
	syms, err := cfg.symbolTable()
	if err != nil {
		return nil, err
	}
	p := &pipeline{log: log, syms: syms, feedStats: new(feed.Registry)}
	// Nothing runs before the last failure point below, so a failure only
	// has NATS and the metrics listener to close (the dashboard stops when
	// its NATS connection closes).
	fail := func(err error) (*pipeline, error) {
		if emit != nil && emit.started {
			err = errors.Join(err, p.pub.Finish())
		}
		p.closeNATS()
		if p.metrics != nil {
			p.metrics.ln.Close() // bound early; nothing serves it yet
		}
		return nil, err
	}
	if p.eng, err = engine.New(ecfg, p.syms); err != nil {
		return fail(locateRule(err, cfg.rules))
	}
	if err = p.connectNATS(cfg); err != nil {
		return fail(err)
	}
	cfg.sec.warnReadableSecrets(log, src.credsFiles()...)
	if err = cfg.js.ensure(ctx, p.nc, cfg.prefix, log); err != nil {
		return fail(err)
	}
	if err = p.setupMetrics(ctx, cfg); err != nil {
		return fail(err)
	}
	// The publisher idles on the bell the engine's output rings ring on
	// every commit, so under the park strategy it wakes per batch, not by timeout.
	// A Kafka topic keeps what is not read yet: wait for JetStream rather
	// than drop signals the offsets would then hold back for good.
	cfg.js.block = cfg.js.block || src.kafka != nil
	p.pub, err = bus.NewPublisher(p.nc, p.syms, ruleInfos(p.eng.Rules()), bus.PublisherOptions{
		Prefix: cfg.prefix, ID: cfg.publisherIDOrDefault(), Wait: ecfg.Wait, Bell: ecfg.OutputBell, JetStream: cfg.js.options(),
		Observe: p.metricsHook(),
		OnLoss: func(c bus.PublisherCounters, err error) {
			log.Warn().Err(err).Uint64("dropped", c.Dropped).Uint64("publish_errors", c.Errors).Msg("NATS publishes lost")
		}})
	if err != nil {
		return fail(err)
	}
	p.watchNATS()
	if emit != nil { // the engine publishes from the feed's goroutine
		emit.pub = p.pub
		if err = p.pub.Start(); err != nil {
			return fail(err)
		}
		emit.started = true
	}
	if err = p.startUI(ctx, cfg); err != nil { // (it stops by itself when a later fail closes NATS)
		return fail(err)
	}
	fopts := p.feedOptions(cfg, src)
	open := func(source string) (feed.Sink, error) { return p.eng.NewInput(source) }
	if cfg.record.dir != "" {
		if p.recorder, err = cfg.record.recorder(cfg.feedFormat); err != nil {
			return fail(err)
		}
		fopts.Tap = p.recorder
	}
	if err = p.bindFeeds(cfg, src, open, fopts); err != nil {
		if p.recorder != nil {
			p.recorder.Abandon() // nothing recorded: leave nothing behind
		}
		return fail(err)
	}
	if p.recorder != nil {
		p.startRecorder(ctx, cfg.record.dir, log, nil) // serving goes on without the capture
		// The recorder is fed by the feed sources' reads; the NATS source's
		// messages are not such reads.
		if src.nats != nil {
			log.Warn().Str("feed", "nats:"+src.nats.String()).Msg("-record does not capture -feed-nats: the ticks taken from NATS are not in the capture")
		}
	}
	p.startFeeds(ctx, cfg, src, open, fopts)
	if cfg.fused { // the publisher is driven by the engine, itself by the feed
		p.goRun("engine", func() error { return errors.Join(p.eng.Run(ctx), p.pub.Finish()) })
	} else {
		p.goRun("engine", func() error { return p.eng.Run(ctx) })
		p.goRun("publisher", func() error { return p.pub.Run(p.eng.Outputs()) })
	}
	p.goRun("status watch", func() error { return p.watchStatus(ctx, cfg.prefix, cfg.feedStale) })
	if p.srv != nil {
		p.watchServer(ctx)
	}
	p.serveMetrics(ctx, src, cfg.feedStale)
	log.Info().Int("shards", ecfg.Shards).Bool("fused", cfg.fused).Int("rules", len(p.eng.Rules())).Str("nats", p.natsDesc()).Msg("tickd running")
	return p, nil
}

// bindFeeds binds the feed listener, if any, and prepares the ITCH
// sessions: a port taken fails start-up, not a stage after "tickd running".
func (p *pipeline) bindFeeds(cfg *serveConfig, src feedSources, open feed.SinkOpener, fopts feed.Options) error {
	if cfg.listens(src) {
		if err := p.listen(cfg, src, open, fopts); err != nil {
			return err
		}
	}
	if err := p.openITCH(src, fopts); err != nil {
		if p.listener != nil {
			p.listener.Close()
		}
		return err
	}
	return nil
}

// openITCH prepares the ITCH sessions, binding their MoldUDP64 sockets and
// resolving their rewind servers, so that one that cannot start is refused
// before anything runs, as the feed listener is. On an error none is left open.
func (p *pipeline) openITCH(src feedSources, fopts feed.Options) error {
	for _, ic := range src.itch {
		s, err := feed.OpenITCH(ic, fopts)
		if err != nil {
			for _, s := range p.itch {
				s.Close()
			}
			p.itch = nil
			return fmt.Errorf("feed-dial %s: %w", ic, err)
		}
		p.itch = append(p.itch, s)
	}
	return nil
}

// listen binds the feed listener (-feed-listen), with TLS when configured;
// fopts are the other sources' options.
func (p *pipeline) listen(cfg *serveConfig, src feedSources, open feed.SinkOpener, fopts feed.Options) error {
	lopts := fopts // TLS is the listener's only: dialers stay plain TCP
	// A connection silent long enough to be reported stale gives its
	// slot up to a new one when -feed-max-conns are taken.
	lopts.EvictAfter = cfg.feedStale
	if cfg.fused {
		lopts.MaxConns = 1 // the inline engine takes one source at a time
	}
	var err error
	if lopts.TLS, err = cfg.sec.feedTLS(); err != nil {
		return err
	}
	if p.listener, err = feed.NewTCPListener(cfg.feedListen, open, lopts); err != nil {
		return err
	}
	p.log.Info().Str("addr", p.listener.Addr().String()).Str("format", src.format.String()).
		Bool("tls", lopts.TLS != nil).Msg("feed listening")
	if cfg.sec.feedTLSClientCA == "" {
		warnOpen(p.log, p.listener.Addr(), "feed listener reachable beyond this host without -feed-tls-client-ca: any peer that reaches it can send ticks")
	}
	return nil
}

// watchServer logs the embedded server's slow consumers and subscribers'
// backlogs until ctx is done.
func (p *pipeline) watchServer(ctx context.Context) {
	p.goRun("nats health", func() error {
		return p.srv.WatchSlowConsumers(ctx, 0, func(total, added int64) {
			p.slowSeen.Store(total)
			p.log.Warn().Int64("slow_consumers", total).Int64("new", added).Msg("NATS cut off slow subscribers")
		})
	})
	p.goRun("nats backlogs", func() error {
		return p.srv.WatchBacklogs(ctx, 0, func(b bus.Backlog) {
			p.log.Warn().Str("client", b.Client).Int64("pending_bytes", b.Pending).Int64("max_pending", b.Limit).
				Msg("NATS subscriber too far behind: the server may drop its messages (uncounted) until it catches up")
		})
	})
}

// feedOptions are the feed sources' options (serve's and record's), their
// reports logged through p.reports.
func (p *pipeline) feedOptions(cfg *serveConfig, src feedSources) feed.Options {
	p.reports = newLimitedLog(p.log, time.Second)
	return feed.Options{Format: src.format, Symbols: p.syms, MaxFrame: cfg.maxFrame, MaxConns: cfg.feedMaxConns,
		Stats: p.feedStats, OnError: p.reports.badInput, OnEnd: p.reports.sourceEnded, SessionDate: src.itchDate,
		FromEnd: cfg.tailFromEnd, MaxAhead: cfg.maxAhead}
}

// startFeeds starts the feed sources: the listener (if bound), the dialers,
// the ITCH sessions (opened by openITCH) and the tails.
func (p *pipeline) startFeeds(ctx context.Context, cfg *serveConfig, src feedSources, open feed.SinkOpener, fopts feed.Options) {
	if p.listener != nil {
		p.goFeed("feed listener", func() error { return p.listener.Serve(ctx) })
	}
	for _, addr := range src.dial {
		p.goFeed("feed dial "+addr, func() error { return feed.DialTCP(ctx, addr, open, fopts) })
	}
	for _, s := range p.itch {
		ic := s.Config()
		p.log.Info().Str("feed", ic.String()).Msg("ITCH session")
		o := open
		if ic.Transport == feed.TransportMold && cfg.udpBackpressure != "block" && p.eng != nil { // (record has no engine)
			o = func(source string) (feed.Sink, error) { return p.eng.NewInputWith(source, engine.Drop) }
		}
		p.goFeed("feed "+ic.String(), func() error {
			err := s.Run(ctx, o)
			if err == nil && ctx.Err() == nil { // the venue ended the session: nothing more comes
				p.log.Info().Str("feed", ic.String()).
					Msg("ITCH session ended: the source is done; a new session (the next trading day) needs a new tickd serve, with its -itch-date")
			}
			return err
		})
	}
	for _, path := range cfg.feedTail {
		p.goFeed("feed tail "+path, func() error { return feed.Tail(ctx, path, open, fopts) })
	}
	p.startKafka(ctx, src.kafka, fopts)
	p.startNATSFeed(ctx, src.nats, open, fopts)
}

// goFeed runs a feed source as a stage the recorder waits for.
func (p *pipeline) goFeed(name string, f func() error) {
	p.feeds.Add(1)
	p.goRun(name, func() error {
		defer p.feeds.Done()
		return f()
	})
}

// startRecorder runs the recorder until ctx is done and every feed source
// has ended (each has told it Close), so the capture is complete when Wait
// returns. failed, if not nil, is called when the recorder stops on a
// write error (a full disk): it records nothing more.
func (p *pipeline) startRecorder(ctx context.Context, dir string, log zerolog.Logger, failed func()) {
	rec := p.recorder
	logRecovered(log, rec.Recovered())
	log.Info().Str("dir", dir).Bool("o_direct", rec.Direct()).Msg("recording the feeds")
	p.goRun("recorder", func() error {
		err := rec.Run(context.WithoutCancel(ctx))
		if err != nil && failed != nil {
			failed()
		}
		return err
	})
	p.goRun("recorder stop", func() error {
		<-ctx.Done()
		p.feeds.Wait()
		rec.Stop()
		return nil
	})
}

// logRecovered logs the captures a crashed recorder left unfinished in the
// directory, which the new one finished: each torn tail cut off, with its
// offset.
func logRecovered(log zerolog.Logger, recs []replay.Recovery) {
	for _, rc := range recs {
		switch {
		case rc.Err != nil:
			log.Error().Str("file", rc.Path).Err(rc.Err).Msg("unfinished capture not recovered: tickd replay reports what it cannot read")
		case len(rc.Damage) == 0:
			log.Info().Str("file", rc.Path).Msg("unfinished capture recovered: its index written")
		}
		for _, d := range rc.Damage {
			log.Warn().Str("file", rc.Path).Int64("offset", d.Offset).Bool("truncated", d.Truncated).Err(d.Err).
				Msg("unfinished capture recovered: damage found")
		}
	}
}

func (p *pipeline) connectNATS(cfg *serveConfig) error {
	var err error
	if err = cfg.sec.checkMode(cfg.natsURL != ""); err != nil {
		return err
	}
	if cfg.natsURL != "" {
		// Secrets are read here, from files or the environment; errors
		// name files, and the URL is redacted in case it carries a password.
		auth := cfg.sec.clientAuth()
		aopts, err := auth.Options()
		if err != nil {
			return err
		}
		p.nc, err = nats.Connect(cfg.natsURL, append(append(bus.ReconnectOptions(0), nats.Name("tickd")), aopts...)...)
		if err != nil {
			return fmt.Errorf("nats: connect %s: %w", redactURL(cfg.natsURL), err)
		}
		return nil
	}
	opts := bus.ServerOptions{}
	if err = cfg.sec.serverOptions(&opts, cfg.prefix); err != nil {
		return err
	}
	if err = cfg.js.serverOptions(&opts); err != nil {
		return err
	}
	if cfg.natsInProcessOnly() {
		if opts.Users != nil || opts.TLS != (bus.ServerTLS{}) {
			// Only tickd's own in-process connections reach such a server.
			return errors.New("nats-users, -nats-tls-*: secure the embedded server's listener, and there is none (-nats-listen off)")
		}
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(cfg.natsListen)
		if err != nil {
			return fmt.Errorf("nats-listen %q: %w", cfg.natsListen, err)
		}
		opts.Host = host
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return fmt.Errorf("nats-listen %q: bad port", cfg.natsListen)
		}
		if opts.Port == 0 {
			opts.Port = bus.RandomPort
		}
	}
	p.natsLog = newNATSLog(p.log, "nats server")
	opts.Logger = p.natsLog
	if p.srv, err = bus.StartServer(opts); err != nil {
		return err
	}
	if len(opts.Users) > 0 || opts.TLS.CertFile != "" {
		p.log.Info().Int("users", len(opts.Users)).Bool("tls", opts.TLS.CertFile != "").
			Bool("client_certs", opts.TLS.CAFile != "").Msg("nats server authentication")
	}
	if len(opts.Users) == 0 {
		warnOpen(p.log, p.srv.Addr(), "nats server reachable beyond this host without -nats-users: any client that reaches it can read everything and publish forged signals")
	}
	p.nc, err = p.srv.ConnectInProcess(nats.Name("tickd"))
	return err
}

// watchNATS logs the publishing connection's life: a disconnect (publishes
// are buffered meanwhile, then dropped and counted), the reconnect, and its
// async errors, at most once a second. A publish the server refused (a
// permissions violation) was lost after nc.Publish returned: the publisher
// counts it with its errors. So were, on core NATS, the publishes a failed
// write of nats.go's flusher held (with -jetstream its signals and bars
// are sent again): each failed write is counted and logged once.
func (p *pipeline) watchNATS() {
	p.connLog = newNATSLog(p.log, "nats")
	p.nc.SetDisconnectErrHandler(func(_ *nats.Conn, err error) {
		if err != nil { // nil: our own Close
			p.log.Warn().Err(err).Msg("NATS disconnected, reconnecting: publishes are buffered meanwhile, beyond the buffer dropped and counted")
		}
	})
	p.nc.SetReconnectHandler(func(nc *nats.Conn) {
		p.log.Info().Str("url", redactURL(nc.ConnectedUrl())).Msg("NATS reconnected")
	})
	p.natsGone = make(chan struct{})
	p.nc.SetClosedHandler(func(nc *nats.Conn) { // once, on our own Close too
		p.natsErr = errClosedForGood(nc)
		close(p.natsGone)
	})
	p.nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if bus.IsPublishRefused(err) {
			p.pub.Refused(err)
			p.connLog.Errorf("publish refused, the message is lost: %v", err)
			return
		}
		if bus.IsWriteLoss(err) {
			p.logWriteFailure(err, p.pub.WriteFailed(err))
			return
		}
		p.connLog.Errorf("%v", err)
	})
}

// logWriteFailure logs a failed write of nats.go's flusher, saying what
// became of the publishes it held (Publisher.WriteFailed).
func (p *pipeline) logWriteFailure(err error, lost bool) {
	if lost {
		p.connLog.Errorf("NATS write failed, the publishes it held are lost (counted in publish_errors): %v", err)
		return
	}
	p.connLog.Errorf("NATS write failed: JetStream sends the signals and bars it held again until stored; the stats and BBOs it held are lost: %v", err)
}

// errClosedForGood says that nats.go gave nc up (a restarted server refusing
// the login): it will not reconnect, and why.
func errClosedForGood(nc *nats.Conn) error {
	return fmt.Errorf("NATS connection closed for good: %v", nc.LastError())
}

// natsInProcessOnly reports whether tickd's NATS is the embedded server with
// no listener: no client outside the process reaches it.
func (c *serveConfig) natsInProcessOnly() bool {
	return c.natsURL == "" && (c.natsListen == "off" || c.natsListen == "")
}

func (p *pipeline) natsDesc() string {
	if p.srv == nil {
		return p.nc.ConnectedUrlRedacted()
	}
	if a := p.srv.Addr(); a != nil {
		return "embedded " + p.srv.ClientURL()
	}
	return "embedded, in-process only"
}

// goRun runs a stage and records its error.
func (p *pipeline) goRun(name string, f func() error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			p.log.Error().Err(err).Str("stage", name).Msg("stage failed")
			p.mu.Lock()
			p.errs = append(p.errs, fmt.Errorf("%s: %w", name, err))
			p.mu.Unlock()
		}
	}()
}

// failedStages lists the stages that failed, "STAGE: ERROR" each, for
// /readyz: a feed stage that stopped leaves tickd without that feed.
func (p *pipeline) failedStages() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.errs))
	for i, err := range p.errs {
		out[i] = err.Error()
	}
	return out
}

// FeedAddr is the feed listener's address, or nil.
func (p *pipeline) FeedAddr() net.Addr {
	if p.listener == nil {
		return nil
	}
	return p.listener.Addr()
}

// Wait blocks until every stage has drained after ctx is done, then closes
// NATS. Signals accepted before shutdown are published before it returns.
func (p *pipeline) Wait() error {
	p.drain()
	p.closeNATS()
	return errors.Join(p.errs...)
}

// drain blocks until every stage has drained after ctx is done, and logs
// the totals; NATS stays up.
func (p *pipeline) drain() {
	p.wg.Wait()
	p.flushReports()
	if p.recorder != nil {
		// stalls: times the feed waited for the disk (recording is lossless).
		logCapture(p.log, p.recorder, func(ev *zerolog.Event) *zerolog.Event { return ev.Uint64("stalls", p.recorder.Stalls()) })
	}
	c := p.eng.Counters()
	pc := p.pub.Counters()
	ft := p.feedTotals()
	p.log.Info().Uint64("feed_events", ft.Events).Uint64("events", c.Events).Uint64("engine_signals", c.Signals).
		Uint64("signals", pc.Signals).Uint64("bars", pc.Bars).Uint64("bbos", pc.BBOs).Uint64("publish_errors", pc.Errors).
		Uint64("dropped", c.Dropped).Uint64("publish_dropped", pc.Dropped).Uint64("feed_errors", ft.Errors).Uint64("not_owned", c.NotOwned).Uint64("out_of_order", c.OutOfOrder).
		Uint64("js_stored", pc.JetStream.Stored).Msg("tickd drained")
	if p.syms.Len() > 0 { // with no symbol at all, the feed is what is missing
		for _, r := range unboundRules(p.eng.Rules(), p.syms) {
			p.log.Warn().Str("rule", r.ID).Strs("symbols", r.Symbols).Int("symbols_seen", p.syms.Len()).
				Msg("rule matched none of the symbols seen: it published nothing")
		}
	}
}

// feedTotals is the feed sources' totals, with what a replay played.
func (p *pipeline) feedTotals() feed.Stats {
	t := p.feedStats.Total()
	if p.played != nil {
		events, rejected := p.played()
		t.Events += events
		t.Errors += rejected
	}
	return t
}

// flushReports logs what the rate limit left out of the feed reports; the
// sources have ended.
func (p *pipeline) flushReports() {
	if p.reports != nil {
		p.reports.flushSuppressed(false)
	}
}

func (p *pipeline) closeNATS() {
	if p.nc != nil {
		p.nc.Close()
	}
	if p.connLog != nil {
		p.connLog.flush()
	}
	if p.srv != nil {
		p.srv.Shutdown()
		p.logSlowAtShutdown()
		p.natsLog.flush()
	}
}

// logSlowAtShutdown logs the subscribers the embedded server cut off since
// watchServer last logged any (its watch ends with the pipeline's context):
// above all those it could not write its last messages to within the write
// deadline as it shut down, which lose them.
func (p *pipeline) logSlowAtShutdown() {
	if total, seen := p.srv.SlowConsumers(), p.slowSeen.Load(); total > seen {
		p.log.Warn().Int64("slow_consumers", total).Int64("new", total-seen).
			Msg("NATS cut off slow subscribers while tickd stopped: what the server still held for them is lost")
	}
}

// runServe is `tickd serve`.
func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	var cfg serveConfig
	fs := newServeFlags(&cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.configPath == "" {
		cfg.configPath = os.Getenv("TICKD_CONFIG")
	}
	var fc *fileConfig
	if cfg.configPath != "" {
		var err error
		if fc, err = loadConfigFile(cfg.configPath, fs); err != nil {
			return err
		}
		cfg.rules = fc.Rules
	}
	if err := applyLayers(fs, fc, os.LookupEnv); err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel, false)
	if err != nil {
		return err
	}
	if !cfg.hasFeed() {
		log.Warn().Msg("no feed: -feed-listen is empty and no -feed-dial, -feed-tail, -feed-kafka or -feed-nats is set, so nothing will be read or published")
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	p, err := startPipeline(ctx, &cfg, log)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-p.natsGone: // nothing could be published from now on (a server refusing the login)
		log.Error().Err(p.natsErr).Msg("shutting down: the NATS connection is closed and will not reconnect")
		stop()
		return errors.Join(p.natsErr, p.Wait())
	}
	log.Info().Msg("shutting down: draining feeds, engine and publisher")
	return p.Wait()
}
