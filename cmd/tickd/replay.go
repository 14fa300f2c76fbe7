package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/replay"
)

// replayConfig is `tickd replay`'s own settings; the engine and NATS ones
// are serve's (serveConfig).
type replayConfig struct {
	speed    string
	from, to string
	symbols  listFlag
	kind     string
	paused   bool
	hold     bool
	progress string
	exchange string
	itch     itchFlags // -exchange soupbin:// or mold://
}

func (c *replayConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.speed, "speed", "1", "pace: 1 (real time), N (N times faster, e.g. 10 or 0.5) or max")
	fs.StringVar(&c.from, "from", "", "play events from this time: RFC 3339 (ITCH input: with -itch-date), ns since the epoch, or HH:MM[:SS] (ITCH session time)")
	fs.StringVar(&c.to, "to", "", "play events up to this time (as -from)")
	fs.Var(&c.symbols, "symbols", "play only these symbols (comma-separated)")
	fs.StringVar(&c.kind, "kind", "", "what the non-capture inputs hold: itch, native, csv or json (default: by name less a .gz: .csv; .json, .jsonl, .ndjson; .native, .bin; anything else ITCH)")
	fs.BoolVar(&c.paused, "paused", false, "start paused (resume with a \"resume\" request on the control subject; not with -exchange or -nats-listen off)")
	fs.BoolVar(&c.hold, "hold", false, "after the replay keep NATS up until interrupted (with -jetstream, the results stored on it stay readable; core NATS keeps nothing; not with -nats-listen off)")
	fs.StringVar(&c.progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, lines otherwise), bar, lines or off")
	fs.StringVar(&c.exchange, "exchange", "", "instead of running the engine, re-serve the inputs as a simulated exchange, paced: "+
		"tcp://HOST:PORT dials it once per recorded source (native, csv, json captures); soupbin://HOST:PORT or mold://HOST:PORT serve ITCH captures and files as gen -format itch does, keeping every message served in memory")
	// gen's ITCH server flags (credentials, linger, mold lines), but -live-orders.
	all := flag.NewFlagSet("itch", flag.ContinueOnError)
	c.itch.register(all)
	all.VisitAll(func(f *flag.Flag) {
		if f.Name != "live-orders" {
			u := strings.Replace(f.Usage, "itch ", "exchange ", 1)
			fs.Var(f.Value, f.Name, strings.Replace(u, " (seeded by -seed)", "", 1))
		}
	})
}

// replayControl is the token under <prefix>.control (bus.Subjects.Control)
// on which a replay takes "pause", "resume", "step N" and "state"
// requests; it replies with its state as JSON.
const replayControl = "replay"

// replayControlSubject is the subject a replay with prefix takes requests on.
func replayControlSubject(prefix string) string {
	return bus.Subjects{Prefix: prefix}.Control() + "." + replayControl
}

// parseSpeed parses -speed: "max" is 0.
func parseSpeed(s string) (float64, error) {
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "x"), 64)
	if err != nil || v <= 0 || v != v {
		return 0, fmt.Errorf("speed %q: want a positive number or max", s)
	}
	return v, nil
}

// parseWhen parses -from/-to: RFC 3339, integer ns since the epoch, or a
// time of day counted from the ITCH session's midnight (raw ns since
// midnight without -itch-date).
func parseWhen(s string, date time.Time) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	if d, ok := timeOfDay(s); ok {
		var midnight int64
		if !date.IsZero() {
			var err error
			if midnight, err = itch.SessionMidnight(date); err != nil {
				return 0, err
			}
		}
		return midnight + d.Nanoseconds(), nil
	}
	return 0, fmt.Errorf("time %q: want RFC 3339, ns since the epoch or HH:MM[:SS]", s)
}

// timeOfDay parses HH:MM[:SS[.fff]] into the time since midnight.
func timeOfDay(s string) (time.Duration, bool) {
	for _, layout := range []string{"15:04:05.999999999", "15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)), true
		}
	}
	return 0, false
}

// parseInterleaved parses flags and positional arguments in any order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// runReplay is `tickd replay`.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg serveConfig
		rc  replayConfig
	)
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// serve's flags but those of the feeds (there are none; but
	// -feed-max-ahead, which captures are checked against), of recording,
	// and -fused (a capture of several connections replays them at once,
	// and the inline engine takes one source at a time).
	all := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(all)
	cfg.logLevel = "warn" // replay's default, which -h gives: the progress bar and the summary say what matters
	all.VisitAll(func(f *flag.Flag) {
		if (!strings.HasPrefix(f.Name, "feed-") || f.Name == "feed-max-ahead") && !strings.HasPrefix(f.Name, "record") && f.Name != "fused" {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	rc.register(fs)
	fs.StringVar(&cfg.configPath, "config", "", "YAML config file, as serve's (engine settings and rules); or TICKD_CONFIG")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd replay FILE... [flags]\n\n"+
			"Plays tickd captures (tickd record, serve -record; a rotated capture's files given together,\n"+
			"as DIR/*.cap, play as one session), NASDAQ ITCH 5.0 files and native/CSV/JSON tick files\n"+
			"(plain or gzip) through the engine, paced by their recorded times, and\n"+
			"publishes signals, bars and BBOs over NATS as serve does. Control it with NATS requests on\n"+
			"%s: pause, resume, step N, state. A serve config file works (its feed settings\n"+
			"are ignored). With -exchange it re-serves the inputs' bytes instead, paced, and runs no\n"+
			"engine and no NATS (nor their flags, nor a control subject).\n\n", replayControlSubject(bus.DefaultPrefix))
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "tickd replay: give at least one FILE")
		return errUsage
	}
	given := visited(fs) // on the command line, before the environment and the file
	if cfg.configPath == "" {
		cfg.configPath = os.Getenv("TICKD_CONFIG")
	}
	var fc *fileConfig
	if cfg.configPath != "" {
		all.String("config", "", "")
		if fc, err = loadConfigFile(cfg.configPath, all); err != nil {
			return err
		}
		cfg.rules = fc.Rules
	}
	if err := applyLayers(fs, fc, os.LookupEnv); err != nil {
		return err
	}
	opts, err := rc.playerOptions(&cfg)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel, false)
	if err != nil {
		return err
	}
	opts.OnDamage = logDamage(log)
	target := "without -exchange"
	if rc.exchange != "" {
		target = "with -exchange " + rc.exchange
	}
	if err := checkITCHServerFlags(given, rc.exchange, target); err != nil {
		return err
	}
	if rc.exchange != "" {
		if err := checkExchangeFlags(given); err != nil {
			return err
		}
		// No pipeline to log what the inputs end on (a file cut short,
		// its framing lost), which the summary counts: a log of its own.
		reports := newLimitedLog(log, time.Second)
		opts.OnError = reports.badInput
		defer reports.flushSuppressed(true)
		return runExchange(ctx, files, &rc, opts, stdout, stderr)
	}
	if opts.Paused && cfg.natsInProcessOnly() {
		return errors.New("-paused: with -nats-listen off no client reaches the control subject to resume the replay: give -nats-listen ADDR or -nats-url")
	}
	if rc.hold && cfg.natsInProcessOnly() {
		return errors.New("-hold: with -nats-listen off no client can read what it holds: give -nats-listen ADDR or -nats-url")
	}
	isITCH, err := anyITCH(files, opts.Kind)
	if err != nil {
		return err
	}
	if isITCH && opts.SessionDate.IsZero() {
		if err := rc.needsNoDate(); err != nil {
			return err
		}
	} else if !isITCH {
		if err := rc.needsNoTimeOfDay(); err != nil {
			return err
		}
	}
	cfg.books = isITCH
	cfg.js.block = true // files can wait for JetStream: nothing need be dropped
	cfg.feedFormat, cfg.feedListen, cfg.feedDial, cfg.feedTail, cfg.record.dir = "native", "", nil, nil, ""
	pctx, stopPipeline := context.WithCancel(ctx)
	defer stopPipeline()
	p, err := startPipeline(pctx, &cfg, log)
	if err != nil {
		return err
	}
	opts.Symbols = p.syms
	opts.Open = func(source string) (feed.Sink, error) { return p.eng.NewInput(source) }
	opts.OnError = p.reports.badInput // what the rate limit leaves out is summed up by p.drain
	pl, err := replay.NewPlayer(files, opts)
	if err != nil {
		stopPipeline()
		return errors.Join(err, p.Wait())
	}
	p.played = func() (uint64, uint64) { pr := pl.Progress(); return pr.Events, pr.Rejected }
	sub, err := p.nc.Subscribe(replayControlSubject(cfg.prefix), func(m *nats.Msg) { m.Respond(controlReply(pl, string(m.Data))) })
	if err != nil {
		stopPipeline()
		return errors.Join(err, p.Wait())
	}
	defer sub.Unsubscribe()
	control := "" // in process only, no client could send the requests
	if !cfg.natsInProcessOnly() {
		control = fmt.Sprintf("; control: nats req %s pause|resume|'step N'|state", replayControlSubject(cfg.prefix))
	}
	fmt.Fprintf(stderr, "tickd replay: %d input(s); NATS %s%s\n", len(files), p.natsDesc(), control)
	prog := startProgress(stderr, rc.progress, pl)
	start := time.Now()
	runErr := pl.Run(ctx)
	elapsed := time.Since(start)
	prog.stop()
	if runErr == nil && ctx.Err() == nil { // every input played to its end
		p.reports.flushSuppressed(true)
	}
	stopPipeline()
	p.drain()
	p.nc.Flush()
	printSummary(stdout, pl.Progress(), p, elapsed)
	if (opts.From != 0 || opts.To != 0 || len(opts.Only) > 0) && runErr == nil && ctx.Err() == nil {
		printNoneKept(stdout, pl.Progress())
	}
	if rc.hold && ctx.Err() == nil {
		fmt.Fprintf(stderr, "tickd replay: done; holding NATS %s until interrupted\n", p.natsDesc())
		<-ctx.Done()
	}
	sub.Unsubscribe()
	p.closeNATS()
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return errors.Join(append([]error{runErr}, p.errs...)...)
}

// anyITCH checks the inputs before anything starts and reports whether
// any holds ITCH (the engine then keeps books): a capture of an ITCH feed,
// or an ITCH file by its name or by kind (-kind).
func anyITCH(files []string, kind replay.InputKind) (bool, error) {
	isITCH := false
	for _, f := range files {
		_, format, err := inputFormat(f, kind)
		if err != nil {
			return false, err
		}
		isITCH = isITCH || format == "itch"
	}
	return isITCH, nil
}

// inputFormat says what the input at path holds: its kind, and the format
// of its bytes (a capture's from its header; itch, native, csv or json).
// kind, if not zero, forces the kind of a file that is not a capture.
func inputFormat(path string, kind replay.InputKind) (replay.InputKind, string, error) {
	k, err := replay.DetectInput(path)
	if err != nil {
		return 0, "", err
	}
	if k != replay.InputCapture {
		if kind != 0 {
			k = kind
		}
		return k, k.String(), nil
	}
	r, _, err := replay.OpenCapture(path, replay.OpenOptions{ReadOnly: true})
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	return k, r.Header().Format, nil
}

// checkExchangeInputs refuses, before anything is served, an input the
// exchange cannot re-serve (overITCH: soupbin:// or mold://, else tcp://):
// ITCH goes over the ITCH transports, native, CSV and JSON captures over
// tcp://, and tick files, which hold no receive times, not at all.
func checkExchangeInputs(files []string, kind replay.InputKind, overITCH bool) error {
	for _, f := range files {
		k, format, err := inputFormat(f, kind)
		if err != nil {
			return err
		}
		switch {
		case k != replay.InputCapture && k != replay.InputITCH:
			return fmt.Errorf("exchange: %s is a %s tick file: only captures and ITCH files are re-served", f, format)
		case format == "itch" && !overITCH:
			return fmt.Errorf("exchange: %s holds ITCH: re-serve it over soupbin:// or mold://", f)
		case format != "itch" && overITCH:
			return fmt.Errorf("exchange: %s is a %s capture: re-serve it over tcp://", f, format)
		}
	}
	return nil
}

// needsNoDate checks that -from and -to can match ITCH input without
// -itch-date: its event times are ns since midnight, which an absolute
// time never is.
func (rc *replayConfig) needsNoDate() error {
	for _, f := range []struct{ name, v string }{{"from", rc.from}, {"to", rc.to}} {
		if _, err := time.Parse(time.RFC3339Nano, f.v); err == nil {
			return fmt.Errorf("%s %q: ITCH input without -itch-date has times of day only: give -itch-date YYYY-MM-DD, or HH:MM[:SS]", f.name, f.v)
		}
	}
	return nil
}

// needsNoTimeOfDay checks that -from and -to can match input that holds
// no ITCH: a time of day is an ITCH session's, and the other inputs' event
// times are Unix times, which it (as 1970-01-01) would never match.
func (rc *replayConfig) needsNoTimeOfDay() error {
	for _, f := range []struct{ name, v string }{{"from", rc.from}, {"to", rc.to}} {
		if _, ok := timeOfDay(f.v); ok {
			return fmt.Errorf("%s %q: a time of day is an ITCH session time, and no input is ITCH: give RFC 3339 or ns since the epoch", f.name, f.v)
		}
	}
	return nil
}

// logDamage logs each damaged capture block, with its offset: every one,
// not at the bad-input log's rate.
func logDamage(log zerolog.Logger) func(string, replay.Damage) {
	return func(path string, d replay.Damage) {
		log.Warn().Str("source", path).Int64("offset", d.Offset).Err(d.Err).Msg("damaged capture block not played")
	}
}

// playerOptions turns the flags into the Player's options (Symbols, Open
// and OnError are the pipeline's).
func (rc *replayConfig) playerOptions(cfg *serveConfig) (replay.PlayerOptions, error) {
	var o replay.PlayerOptions
	var err error
	if o.Speed, err = parseSpeed(rc.speed); err != nil {
		return o, err
	}
	if cfg.itchDate != "" {
		if o.SessionDate, err = time.Parse(time.DateOnly, cfg.itchDate); err != nil {
			return o, fmt.Errorf("itch-date %q: want YYYY-MM-DD", cfg.itchDate)
		}
	}
	if o.From, err = parseWhen(rc.from, o.SessionDate); err != nil {
		return o, fmt.Errorf("from: %w", err)
	}
	if o.To, err = parseWhen(rc.to, o.SessionDate); err != nil {
		return o, fmt.Errorf("to: %w", err)
	}
	if rc.kind != "" {
		if o.Kind, err = replay.ParseInputKind(rc.kind); err != nil || o.Kind == replay.InputCapture {
			return o, fmt.Errorf("kind %q: want itch, native, csv or json", rc.kind)
		}
	}
	switch rc.progress {
	case "auto", "bar", "lines", "off":
	default:
		return o, fmt.Errorf("progress %q: want auto, bar, lines or off", rc.progress)
	}
	if err := checkMaxAhead(cfg.maxAhead); err != nil {
		return o, err
	}
	o.Only, o.Paused, o.MaxFrame, o.MaxAhead = rc.symbols, rc.paused, cfg.maxFrame, cfg.maxAhead
	return o, nil
}

// replayState is the reply to a control request.
type replayState struct {
	State    string `json:"state"` // running, paused, done
	Messages uint64 `json:"messages"`
	Events   uint64 `json:"events"`
	Bytes    uint64 `json:"bytes"`
	Pos      int64  `json:"pos"`
	Error    string `json:"error,omitempty"`
}

// controlReply applies a control request and describes the state after it.
func controlReply(pl *replay.Player, req string) []byte {
	var errMsg string
	f := strings.Fields(strings.ToLower(req))
	switch {
	case len(f) == 1 && f[0] == "pause":
		pl.Pause()
	case len(f) == 1 && f[0] == "resume":
		pl.Resume()
	case len(f) >= 1 && f[0] == "step":
		n := 1
		if len(f) >= 2 {
			v, err := strconv.Atoi(f[1])
			if err != nil || v < 1 || len(f) > 2 {
				errMsg = "step N: N must be a positive integer"
				break
			}
			n = v
		}
		pl.Step(n)
	case len(f) == 1 && f[0] == "state", len(f) == 0:
	default:
		errMsg = fmt.Sprintf("unknown request %q: want pause, resume, step N or state", req)
	}
	pr := pl.Progress()
	st := replayState{State: "running", Messages: pr.Messages, Events: pr.Events, Bytes: pr.Bytes, Pos: pr.Pos, Error: errMsg}
	switch {
	case pr.Done:
		st.State = "done"
	case pr.Paused:
		st.State = "paused"
	}
	b, _ := json.Marshal(st)
	return b
}

// progress draws a bar (terminal) or prints lines on w until stopped.
type progress struct {
	stopc chan struct{}
	wg    sync.WaitGroup
}

func startProgress(w io.Writer, mode string, pl *replay.Player) *progress {
	pg := &progress{stopc: make(chan struct{})}
	if mode == "auto" {
		mode = "lines"
		if isTerminal(w) {
			mode = "bar"
		}
	}
	if mode == "off" {
		return pg
	}
	every := 2 * time.Second
	if mode == "bar" {
		every = 100 * time.Millisecond
	}
	start := time.Now()
	pg.wg.Add(1)
	go func() {
		defer pg.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-pg.stopc:
				if mode == "bar" {
					fmt.Fprintf(w, "\r%s\n", progressLine(pl.Progress(), time.Since(start), true))
				}
				return
			case <-t.C:
				if mode == "bar" {
					fmt.Fprintf(w, "\r%s", progressLine(pl.Progress(), time.Since(start), true))
				} else {
					fmt.Fprintf(w, "tickd replay: %s\n", progressLine(pl.Progress(), time.Since(start), false))
				}
			}
		}
	}()
	return pg
}

func (pg *progress) stop() {
	close(pg.stopc)
	pg.wg.Wait()
}

// progressLine renders one progress report.
func progressLine(pr replay.Progress, el time.Duration, bar bool) string {
	var b strings.Builder
	frac := pr.Fraction()
	if bar {
		const width = 30
		n := int(frac * width)
		b.WriteString("[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] ")
	}
	fmt.Fprintf(&b, "%5.1f%% input %d/%d, %d msgs, %d events, %s", 100*frac, pr.Input+1, pr.Inputs, pr.Messages, pr.Events, byteSize(pr.Bytes))
	switch {
	case pr.Pos > 0 && pr.Pos < int64(24*time.Hour):
		// ITCH without -itch-date: event times count from midnight, and a
		// 1970 date would only mislead.
		fmt.Fprintf(&b, ", at %s of the day", time.Unix(0, pr.Pos).UTC().Format("15:04:05.000"))
	case pr.Pos != 0:
		fmt.Fprintf(&b, ", at %s UTC", time.Unix(0, pr.Pos).UTC().Format("2006-01-02 15:04:05.000"))
	}
	if s := el.Seconds(); s > 0 {
		fmt.Fprintf(&b, ", %.0f msgs/s", float64(pr.Messages)/s)
	}
	if pr.Paused {
		b.WriteString(" [paused]")
	}
	return b.String()
}

func byteSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// printSummary prints the replay's totals.
func printSummary(w io.Writer, pr replay.Progress, p *pipeline, el time.Duration) {
	c := p.eng.Counters()
	pc := p.pub.Counters()
	s := el.Seconds()
	// Messages are what the inputs hold (a capture's are its reads, each
	// many ticks), so the rate of events is given beside theirs.
	fmt.Fprintf(w, "tickd replay: %d messages (%s), %d events, %d signals, %d bars, %d BBOs in %v (%.0f msgs/s, %.0f events/s, %s/s)\n",
		pr.Messages, byteSize(pr.Bytes), c.Events, pc.Signals, pc.Bars, pc.BBOs, el.Round(time.Millisecond),
		float64(pr.Messages)/max(s, 1e-9), float64(c.Events)/max(s, 1e-9), byteSize(uint64(float64(pr.Bytes)/max(s, 1e-9))))
	printDamage(w, pr)
	printBookRejections(w, &c)
	if c.OutOfOrder > 0 {
		// Bars and windows cannot go back: such a trade counts at its
		// symbol's last time, so the inputs were not one timeline.
		fmt.Fprintf(w, "tickd replay: %d trades earlier than their symbol's last, applied at its time: inputs out of time order (ITCH files of several days take one -itch-date each: replay a day per run)\n", c.OutOfOrder)
	}
}

// printBookRejections prints, by book.Reason, the L3 events the books
// could not apply as they stand (rejected, or a replace's new order
// refused) and the overfills, if any: played, but not in the books.
func printBookRejections(w io.Writer, c *engine.Counters) {
	var b strings.Builder
	for _, r := range []book.Reason{book.ReasonUnknownExecute, book.ReasonUnknownCancel, book.ReasonUnknownDelete,
		book.ReasonUnknownReplace, book.ReasonDuplicateRef, book.ReasonBadOrder, book.ReasonBadSymbol, book.ReasonOverfill} {
		if n := c.Book[r]; n > 0 {
			fmt.Fprintf(&b, " %s=%d", r, n)
		}
	}
	if b.Len() > 0 {
		fmt.Fprintf(w, "tickd replay: not applied as sent to the books:%s (unknown_*: orders the inputs never added, usual for a file that starts mid-day)\n", b.String())
	}
}

// printNoneKept says so when -from, -to and -symbols let no event of a
// finished replay through (a window outside the inputs, a misspelt
// symbol), with the inputs' span.
func printNoneKept(w io.Writer, pr replay.Progress) {
	if pr.Kept {
		return
	}
	fmt.Fprint(w, "tickd replay: no event passed -from, -to and -symbols")
	if pr.SeenTo != 0 {
		fmt.Fprintf(w, " (the inputs' events run from %s to %s)", eventTime(pr.SeenFrom), eventTime(pr.SeenTo))
	}
	fmt.Fprintln(w)
}

// eventTime renders an event time: of the day for ITCH without -itch-date
// (ns since midnight), else in UTC.
func eventTime(ns int64) string {
	if ns < int64(24*time.Hour) {
		return time.Unix(0, ns).UTC().Format("15:04:05.000000000") + " of the day"
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// printDamage prints what of the inputs could not be played, if anything.
func printDamage(w io.Writer, pr replay.Progress) {
	if pr.Damaged > 0 || pr.Rejected > 0 {
		fmt.Fprintf(w, "tickd replay: not played: %d damaged capture blocks, %d rejected messages (see the log)\n", pr.Damaged, pr.Rejected)
	}
}

// connSink re-serves one recorded source over its own TCP connection.
type connSink struct{ c net.Conn }

func (s connSink) Write(b []byte) error {
	_, err := s.c.Write(b)
	return err
}
func (s connSink) Flush() error { return nil }
func (s connSink) Idle() error  { return nil } // TCP feeds have no heartbeat
func (s connSink) Close() error { return s.c.Close() }

// itchRaw sends every ITCH source into the one session of the exchange.
type itchRaw struct{ out itchSink }

func (s itchRaw) Write(b []byte) error { return s.out.add(b) }
func (s itchRaw) Flush() error         { return s.out.flush() }
func (s itchRaw) Idle() error          { return s.out.heartbeat() } // MoldUDP64's; SoupBinTCP's server keeps its own
func (s itchRaw) Close() error         { return s.out.flush() }

// exchangeFlags are the flags a replay with -exchange reads; the others
// set up the engine and NATS, which it does not run (-from, -to, -symbols
// and -paused are refused by runExchange, with why).
var exchangeFlags = map[string]bool{"exchange": true, "speed": true, "kind": true, "progress": true, "log-level": true, "config": true,
	"from": true, "to": true, "symbols": true, "paused": true,
	"creds": true, "linger": true, "mold-session": true, "rewind": true, "drop": true, "to-b": true}

// checkExchangeFlags refuses the flags given with -exchange that it would
// ignore: a -hold, a -metrics or -jetstream would otherwise do nothing,
// silently.
func checkExchangeFlags(given []string) error {
	var unused []string
	for _, name := range given {
		if !exchangeFlags[name] {
			unused = append(unused, "-"+name)
		}
	}
	if len(unused) == 0 {
		return nil
	}
	hint := ""
	if slices.Contains(unused, "-hold") {
		hint = " (-linger keeps the exchange serving after the session)"
	}
	return fmt.Errorf("exchange: %s: not with -exchange, which runs no engine and no NATS: it re-serves the inputs' bytes%s", strings.Join(unused, ", "), hint)
}

// runExchange is `tickd replay -exchange URL`: the inputs' bytes re-served,
// paced, with no engine and no NATS.
func runExchange(ctx context.Context, files []string, rc *replayConfig, opts replay.PlayerOptions, stdout, stderr io.Writer) error {
	if opts.From != 0 || opts.To != 0 || len(opts.Only) > 0 {
		return errors.New("exchange: -from, -to and -symbols do not apply: the recorded bytes are served as they are")
	}
	if opts.Paused {
		return errors.New("exchange: -paused does not apply: an exchange replay has no NATS control subject to resume it")
	}
	overITCH := strings.HasPrefix(rc.exchange, "soupbin://") || strings.HasPrefix(rc.exchange, "mold://")
	if overITCH || strings.HasPrefix(rc.exchange, "tcp://") {
		if err := checkExchangeInputs(files, opts.Kind, overITCH); err != nil {
			return err
		}
	}
	var out itchSink
	var err error
	switch u := rc.exchange; {
	case strings.HasPrefix(u, "tcp://"):
		addr := strings.TrimPrefix(u, "tcp://")
		opts.Raw = func(name, format string) (replay.RawSink, error) {
			if format == "itch" {
				return nil, errors.New("an ITCH capture is re-served over soupbin:// or mold://")
			}
			c, err := dialRetry(ctx, addr, 10*time.Second)
			if err != nil {
				return nil, err
			}
			return connSink{c}, nil
		}
	case strings.HasPrefix(u, "soupbin://"):
		out, err = newSoupSink(ctx, "tickd replay", strings.TrimPrefix(u, "soupbin://"), &rc.itch, stderr)
	case strings.HasPrefix(u, "mold://"):
		out, err = newMoldSink(ctx, "tickd replay", strings.TrimPrefix(u, "mold://"), 1, &rc.itch, stderr)
	default:
		return fmt.Errorf("exchange %q: want tcp://, soupbin:// or mold://HOST:PORT", u)
	}
	if err != nil {
		return err
	}
	if out != nil {
		opts.Raw = func(name, format string) (replay.RawSink, error) {
			if format != "itch" {
				return nil, fmt.Errorf("a %s capture is re-served over tcp://", format)
			}
			return itchRaw{out}, nil
		}
	}
	pl, err := replay.NewPlayer(files, opts)
	if err == nil {
		prog := startProgress(stderr, rc.progress, pl)
		start := time.Now()
		err = pl.Run(ctx)
		el := time.Since(start)
		prog.stop()
		pr := pl.Progress()
		fmt.Fprintf(stdout, "tickd replay: %d messages (%s) re-served to %s in %v (%.0f msgs/s)\n",
			pr.Messages, byteSize(pr.Bytes), rc.exchange, el.Round(time.Millisecond), float64(pr.Messages)/max(el.Seconds(), 1e-9))
		printDamage(stdout, pr)
	}
	if out != nil {
		err = errors.Join(err, out.finish(ctx)) // end of session, then -linger
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
