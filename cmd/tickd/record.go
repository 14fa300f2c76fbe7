package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/replay"
	"github.com/tickd/tickd/tick"
)

// recordConfig is how feeds are captured: `tickd serve -record DIR` and
// `tickd record -out DIR`.
type recordConfig struct {
	prefix    string // of the flags but the directory's, for errors
	dir       string
	compress  bool
	maxBytes  int64
	maxAge    time.Duration
	syncEvery time.Duration
	direct    bool
}

// register binds the settings: the directory flag is dirFlag ("record" in
// serve, "out" in record), the others are prefixed with prefix.
func (c *recordConfig) register(fs *flag.FlagSet, dirFlag, prefix string) {
	c.prefix = prefix
	fs.StringVar(&c.dir, dirFlag, "", "directory to write capture files of the feeds to (replay them with tickd replay)")
	fs.BoolVar(&c.compress, prefix+"compress", false, "zstd-compress capture blocks")
	fs.Int64Var(&c.maxBytes, prefix+"max-bytes", 1<<30, fmt.Sprintf("start a new capture file past this size (at least %d)", replay.MinMaxBytes))
	fs.DurationVar(&c.maxAge, prefix+"max-age", time.Hour, fmt.Sprintf("start a new capture file after this long (at least %v)", replay.MinMaxAge))
	fs.DurationVar(&c.syncEvery, prefix+"sync", 0, "fsync captures at most this often (0: every block; a negative duration, e.g. -1s: never, but when a file is finished)")
	fs.BoolVar(&c.direct, prefix+"direct", true, "write captures with O_DIRECT, past the page cache (Linux; a file system that refuses it is written through the cache)")
}

// recorder builds the Recorder for a feed of the given format.
func (c *recordConfig) recorder(format string) (*replay.Recorder, error) {
	// Checked here to name the flags (the Recorder would name its fields,
	// and take 0 for its default).
	if c.maxBytes < replay.MinMaxBytes {
		return nil, fmt.Errorf("%smax-bytes %d: want at least %d", c.prefix, c.maxBytes, replay.MinMaxBytes)
	}
	if c.maxAge < replay.MinMaxAge {
		return nil, fmt.Errorf("%smax-age %v: want at least %v", c.prefix, c.maxAge, replay.MinMaxAge)
	}
	return replay.NewRecorder(replay.RecorderOptions{
		Dir: c.dir, Format: format, MaxBytes: c.maxBytes, MaxAge: c.maxAge,
		Compress: c.compress, Sync: replay.SyncPolicy{Every: c.syncEvery}, Direct: c.direct,
	})
}

// discardSink takes decoded events and drops them: `tickd record` decodes
// (so bad input is counted and reported as when serving) without an engine.
type discardSink struct{ slots []tick.Event }

func (d *discardSink) Claim(n int) []tick.Event { return d.slots[:min(n, len(d.slots))] }
func (d *discardSink) Commit(int)               {}
func (d *discardSink) Close()                   {}

// runRecord is `tickd record`: the feed sources and the recorder, no engine.
func runRecord(ctx context.Context, args []string, _, stderr io.Writer) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var cfg serveConfig
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.registerFeeds(fs, "")
	cfg.record.register(fs, "out", "")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd record (-feed-listen ADDR | -feed-dial ADDR | -feed-tail FILE) -out DIR [flags]\n\n"+
			"Records feeds, exactly as read, into capture files, without the engine. Stop with Ctrl-C;\nthe capture is complete when it exits. Replay with: tickd replay DIR/*.cap\n\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.record.dir == "" {
		fmt.Fprintln(stderr, "tickd record: -out DIR is required")
		return errUsage
	}
	if !cfg.hasFeed() {
		fmt.Fprintln(stderr, "tickd record: give a feed: -feed-listen, -feed-dial or -feed-tail")
		return errUsage
	}
	src, err := cfg.sources()
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel, false)
	if err != nil {
		return err
	}
	syms, err := cfg.symbolTable()
	if err != nil {
		return err
	}
	p := &pipeline{log: log, syms: syms, feedStats: new(feed.Registry)}
	fopts := p.feedOptions(&cfg, src)
	if p.recorder, err = cfg.record.recorder(cfg.feedFormat); err != nil {
		return err
	}
	fopts.Tap = p.recorder
	if cfg.listens(src) {
		if p.listener, err = feed.NewTCPListener(cfg.feedListen, func(string) (feed.Sink, error) {
			return &discardSink{slots: make([]tick.Event, 256)}, nil
		}, fopts); err != nil {
			p.recorder.Abandon() // nothing recorded: leave nothing behind
			return err
		}
		log.Info().Str("addr", p.listener.Addr().String()).Str("format", src.format.String()).Msg("feed listening")
	}
	if err := p.openITCH(src, fopts); err != nil {
		if p.listener != nil {
			p.listener.Close()
		}
		p.recorder.Abandon() // nothing recorded: leave nothing behind
		return err
	}
	p.startRecorder(ctx, cfg.record.dir, log, stop) // recording is record's only job: it ends with it
	p.startFeeds(ctx, &cfg, src, func(string) (feed.Sink, error) {
		return &discardSink{slots: make([]tick.Event, 256)}, nil
	}, fopts)
	<-ctx.Done()
	p.wg.Wait()
	p.flushReports()
	ft := p.feedStats.Total()
	logCapture(log, p.recorder, func(ev *zerolog.Event) *zerolog.Event {
		return ev.Uint64("feed_bytes", ft.Bytes).Uint64("feed_frames", ft.Frames).Uint64("feed_errors", ft.Errors)
	})
	return errors.Join(p.errs...)
}

// logCapture logs a recorder's summary, with fields' own: its files and
// the bytes they hold (file_bytes, what a replay reads back; a file gone
// holds none). After a failed write the feed sent more than the files
// hold, so the line says the capture is incomplete, at error level, with
// the error.
func logCapture(log zerolog.Logger, rec *replay.Recorder, fields func(*zerolog.Event) *zerolog.Event) {
	files := rec.Files()
	ev, msg := log.Info(), "capture written"
	if err := rec.Err(); err != nil {
		ev, msg = log.Error().Err(err), "capture incomplete: a write failed"
	}
	ev = captureFiles(ev, files).Int64("file_bytes", filesSize(files)).Uint64("dropped", rec.Dropped())
	fields(ev).Msg(msg)
}

// filesSize is the bytes the files hold now; one that cannot be read
// (removed) holds none.
func filesSize(files []string) int64 {
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// listedFiles is how many capture files the "capture written" line names.
const listedFiles = 16

// captureFiles adds a recorder's capture files to ev: their count, and all
// of them while few, else the first and the last, so that a recorder that
// rotated for days does not end on one log line of thousands of names.
func captureFiles(ev *zerolog.Event, files []string) *zerolog.Event {
	ev = ev.Int("file_count", len(files))
	if len(files) <= listedFiles {
		return ev.Strs("files", files)
	}
	return ev.Str("first_file", files[0]).Str("last_file", files[len(files)-1])
}
