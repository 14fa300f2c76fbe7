package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/sink"
)

// sinkConfig is `tickd sink`'s flags.
type sinkConfig struct {
	to, natsURL, prefix      string
	durable, stream          string
	batch, buffer            int
	flush                    time.Duration
	rotateSize               int64
	rotateEvery              time.Duration
	pgPasswordFile, logLevel string
	sec                      securityConfig
}

func (c *sinkConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.to, "to", "sqlite:tickd.db", "where rows go: sqlite:FILE, postgres://USER@HOST/DB (password from PGPASSWORD, a pgpass file or -pg-password-file), csv:DIR or jsonl:DIR")
	fs.StringVar(&c.natsURL, "nats-url", nats.DefaultURL, "NATS server URL")
	fs.StringVar(&c.prefix, "subject-prefix", bus.DefaultPrefix, "first token of the subjects to consume (<prefix>.signal.>, <prefix>.bar.>)")
	fs.StringVar(&c.durable, "durable", "", "consume through this JetStream durable consumer, acking after each commit (no loss across restarts; needs a stream)")
	fs.StringVar(&c.stream, "stream", "", "with -durable: the stream (default: the one capturing <prefix>.signal.>)")
	fs.IntVar(&c.batch, "batch", sink.DefaultBatchSize, "most rows per write")
	fs.DurationVar(&c.flush, "flush", sink.DefaultFlushInterval, "longest a row waits for its batch to fill")
	fs.IntVar(&c.buffer, "buffer", sink.DefaultMaxBuffer, "rows held in memory while the store is slow or away (beyond: dropped and counted, or with -durable, not consumed)")
	fs.Int64Var(&c.rotateSize, "rotate-size", sink.DefaultMaxFileSize, "csv/jsonl: start a new file past this many bytes (negative: never)")
	fs.DurationVar(&c.rotateEvery, "rotate-every", 0, "csv/jsonl: start a new file when the current one is this old (0: never)")
	fs.StringVar(&c.pgPasswordFile, "pg-password-file", "", "postgres: file holding the password")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	c.sec.registerClient(fs)
}

// validate refuses what the sink package would take as "use the
// default" (the flags' defaults are explicit, so a 0 is a mistake), and
// names the flag of a value it would refuse in its own terms.
func (c *sinkConfig) validate() error {
	switch {
	case c.stream != "" && c.durable == "":
		return errors.New("-stream needs -durable")
	case c.batch <= 0:
		return fmt.Errorf("-batch %d: want at least 1 row", c.batch)
	case c.buffer < c.batch:
		return fmt.Errorf("-buffer %d: want at least -batch rows (%d)", c.buffer, c.batch)
	case c.flush <= 0:
		return fmt.Errorf("-flush %v: want a positive duration", c.flush)
	case c.rotateSize == 0:
		return errors.New("-rotate-size 0: want a size in bytes, or negative for never")
	case c.rotateEvery < 0:
		return fmt.Errorf("-rotate-every %v: want a positive duration, or 0 for never", c.rotateEvery)
	}
	return nil
}

// openStore opens the -to destination.
func (c *sinkConfig) openStore(ctx context.Context) (sink.Store, error) {
	kind, rest, _ := strings.Cut(c.to, ":")
	switch kind {
	case "sqlite":
		return sink.OpenSQLite(ctx, rest)
	case "postgres", "postgresql":
		return sink.OpenPostgres(ctx, sink.PostgresOptions{URL: c.to, PasswordFile: c.pgPasswordFile})
	case "csv", "jsonl":
		format := sink.CSV
		if kind == "jsonl" {
			format = sink.JSONLines
		}
		return sink.OpenFiles(sink.FileOptions{Dir: rest, Format: format, MaxSize: c.rotateSize,
			MaxAge: c.rotateEvery, Window: c.buffer + c.batch})
	}
	return nil, fmt.Errorf("-to %q: want sqlite:FILE, postgres://..., csv:DIR or jsonl:DIR", redactURL(c.to))
}

// openStoreWaiting opens the store, waiting (with backoff, logging each
// try) while a PostgreSQL server cannot be reached: a sink may well start
// before its database. Any other error is returned at once.
func (c *sinkConfig) openStoreWaiting(ctx context.Context, log zerolog.Logger) (sink.Store, error) {
	for backoff := 500 * time.Millisecond; ; backoff = min(2*backoff, 30*time.Second) {
		store, err := c.openStore(ctx)
		var unreachable *pgconn.ConnectError
		if err == nil || !errors.As(err, &unreachable) {
			return store, err
		}
		log.Warn().Err(err).Dur("retry_in", backoff).Msg("sink: database unreachable")
		select {
		case <-ctx.Done(): // asked to stop: say so, with why it had not started
			return nil, fmt.Errorf("stopped waiting for the database (%w): %w", ctx.Err(), err)
		case <-time.After(backoff):
		}
	}
}

// runSink is `tickd sink`: consume signals and bars from NATS into a store.
func runSink(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg sinkConfig
	cfg.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd sink [flags]\n\nStores tickd's signals and bars from NATS in SQLite, PostgreSQL or rotated CSV/JSON-lines files.\n\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := bus.ValidatePrefix(cfg.prefix); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel, false)
	if err != nil {
		return err
	}
	auth := cfg.sec.clientAuth()
	aopts, err := auth.Options()
	if err != nil {
		return err
	}
	store, err := cfg.openStoreWaiting(ctx, log)
	if err != nil {
		return err
	}
	defer store.Close()
	s, err := sink.New(store, sink.Options{BatchSize: cfg.batch, FlushInterval: cfg.flush, MaxBuffer: cfg.buffer,
		OnReport: func(c sink.Counters, err error) { reportSink(log, c, err) }})
	if err != nil {
		return err
	}
	// A connection nats.go gives up (a restarted server refusing the login)
	// ends the sink: it would otherwise wait for messages that cannot come.
	connCtx, connClosed := context.WithCancelCause(ctx)
	defer connClosed(nil)
	nopts := append([]nats.Option{nats.Name("tickd sink"), nats.MaxReconnects(-1),
		nats.ClosedHandler(func(nc *nats.Conn) {
			connClosed(errClosedForGood(nc))
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close
				log.Warn().Err(err).Msg("sink: NATS disconnected")
			}
		}),
		// Slow-consumer episodes (nats.go's pending queue overflowing) and
		// other asynchronous errors: nats.go reports each episode once.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := log.Warn().Err(err)
			if sub != nil {
				ev = ev.Str("subject", sub.Subject)
			}
			ev.Msg("sink: NATS error")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info().Str("url", redactURL(nc.ConnectedUrl())).Msg("sink: NATS reconnected") }),
	}, aopts...)
	nc, err := nats.Connect(cfg.natsURL, nopts...)
	if err != nil {
		return fmt.Errorf("connect %s: %w", redactURL(cfg.natsURL), err)
	}
	defer nc.Close()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(runCtx) }()
	started := log.Info().Str("to", redactURL(cfg.to)).Str("nats", redactURL(cfg.natsURL)).
		Strs("subjects", sink.Subjects(cfg.prefix)).Str("durable", cfg.durable)
	var consumeErr error
	if cfg.durable == "" {
		unsub, err := sink.SubscribeCore(nc, cfg.prefix, s)
		if err != nil {
			consumeErr = err
		} else {
			started.Msg("sink: subscribed")
			<-connCtx.Done()
			unsub()
		}
	} else {
		started.Msg("sink: consuming")
		consumeErr = sink.ConsumeDurable(connCtx, nc, sink.DurableOptions{Name: cfg.durable, Stream: cfg.stream, Prefix: cfg.prefix}, s)
	}
	if ctx.Err() == nil && nc.IsClosed() {
		<-connCtx.Done()                    // the ClosedHandler runs on nats.go's callback goroutine
		consumeErr = context.Cause(connCtx) // why, rather than what it broke
	}
	stop() // write what is buffered, then return
	err = errors.Join(consumeErr, <-runErr)
	c := s.Counters()
	log.Info().Uint64("received", c.Received).Uint64("written", c.Written).Uint64("duplicates", c.Duplicates).
		Uint64("overflow", c.Overflow).Uint64("invalid", c.Invalid).Uint64("failures", c.Failures).
		Uint64("unwritten", c.Buffered).Msg("sink: stopped")
	return err
}

// reportSink logs a Sink report: a failing or lossy store, or its recovery.
func reportSink(log zerolog.Logger, c sink.Counters, err error) {
	var ev *zerolog.Event
	switch {
	case err != nil:
		ev = log.Warn().Err(err)
	case c.Overflow > 0 || c.Invalid > 0:
		ev = log.Warn()
	default:
		ev = log.Info()
	}
	ev.Uint64("written", c.Written).Uint64("duplicates", c.Duplicates).Uint64("buffered", c.Buffered).Uint64("overflow", c.Overflow).
		Uint64("invalid", c.Invalid).Uint64("failures", c.Failures).Msg("sink: store report")
}
