package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bench"
	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/ringbuf"
)

// benchConfig is the flags of `tickd bench`.
type benchConfig struct {
	rate        float64
	duration    time.Duration
	warmup      time.Duration
	symbols     int
	signalRatio float64
	format      string
	wait        string
	natsURL     string
	profile     string
	trace       string
	out         string
	inproc      bool
	fused       bool
	pace        string
	gogc        int
	cacheProbe  bool
}

func (c *benchConfig) register(fs *flag.FlagSet) {
	fs.Float64Var(&c.rate, "rate", bench.DefaultRate, "ticks per second, sent open-loop (each at its intended time; a stall delays, never skips; end to end, latency runs from that time); 0 with -inproc: full speed")
	fs.DurationVar(&c.duration, "duration", bench.DefaultDuration, "measured window")
	fs.DurationVar(&c.warmup, "warmup", bench.DefaultWarmup, "load sent before the window, not recorded")
	fs.IntVar(&c.symbols, "symbols", bench.DefaultSymbols, "symbols the ticks go round-robin over")
	fs.Float64Var(&c.signalRatio, "signal-ratio", bench.DefaultSignalRatio, "share of ticks that cross the price rule's level and fire a signal (0..1)")
	fs.StringVar(&c.format, "format", "native", "feed wire format: native, csv or json")
	fs.StringVar(&c.wait, "wait", "park", "how tickd's idle stages wait: spin, yield or park (as serve)")
	fs.StringVar(&c.natsURL, "nats-url", "", "external NATS server URL; empty runs an embedded server on a free port")
	fs.StringVar(&c.profile, "profile", "", "directory for CPU and allocation profiles of the run (cpu.pprof, allocs.pprof)")
	fs.StringVar(&c.trace, "trace", "", "file for an execution trace of the run (go tool trace; scripts/schedtrace); ~50 MB for a 5 s run at 100k ticks/s, the floor's phase included")
	fs.StringVar(&c.out, "out", "", "report directory (default: a new tickd-bench-* directory under the system temp dir)")
	fs.BoolVar(&c.inproc, "inproc", false, "measure in process: decode → engine → output ring, no network, no NATS; timed from the decode's receive stamp, so service time, not open loop (a tick encoded late is not charged for its wait)")
	fs.BoolVar(&c.cacheProbe, "cache-probe", true, "time a random walk over 16 MiB before and after the run and report both (each up to a second): on a shared host the cache, and the latencies, move with the neighbours' load")
	fs.BoolVar(&c.fused, "fused", false, "decode and engine on one goroutine: end to end, tickd runs as serve -fused (the feed's goroutine publishes too); with -inproc, timed to the signal enqueued")
	fs.IntVar(&c.gogc, "gogc", 0, fmt.Sprintf("GOGC for the run (-1: off); 0: the GOGC variable if set, else %d. The bench's NATS subscriber and server, in this process, allocate per message (tickd's hot path does not), and their collections take CPU from everything else", benchGOGC))
	fs.StringVar(&c.pace, "pace", "sleep", "how the sender waits for each tick's time: sleep (~1 ms bursts), yield (exact, but a runnable goroutine beside tickd) or spin (exact; takes a core)")
}

// pattern is the load the flags describe; -warmup 0 means none (the
// options' 0 means the default).
func (c *benchConfig) pattern() bench.Pattern {
	p := bench.Pattern{Rate: c.rate, Duration: c.duration, Warmup: c.warmup, Symbols: c.symbols, SignalRatio: c.signalRatio}
	if p.Warmup == 0 {
		p.Warmup = -1
	}
	return p
}

// runBench is `tickd bench`: tickd's latency end to end (feed socket in,
// signal out of NATS) beside bare NATS's at the same rate, or in process.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var c benchConfig
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd bench [flags]\n\nOpen-loop latency of tickd: ticks over TCP into the feed listener, one price rule,\nsignals read back from NATS; then bare NATS carrying the same number of messages\nper second (the signal rate) of the same size (the floor). With -inproc: decode → engine → output ring inside the process;\n-fused runs decode and engine (and, end to end, publishing) on one goroutine.\nWrites report.txt, result.json, *.hgrm and latency.svg/png to -out; interrupted (SIGINT,\nSIGTERM), it writes what was measured until then there, marked partial, and exits 1.\n\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	wait, err := ringbuf.ParseWaitStrategy(c.wait)
	if err != nil {
		return err
	}
	format, err := feed.ParseFormat(c.format)
	if err != nil {
		return err
	}
	pace, err := bench.ParsePace(c.pace)
	if err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	// The report's directory is made (and written to) before the run, so
	// that an unusable -out fails now, not after the whole run.
	out, created, err := reportDir(c.out)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && created {
			os.Remove(out) // made for this run, which left nothing in it: only if empty
		}
	}()
	gogc := runGOGC(c.gogc, os.Getenv("GOGC"))
	defer debug.SetGCPercent(debug.SetGCPercent(gogc))
	res := bench.Result{Start: time.Now(), Machine: bench.DetectMachine(), Settings: bench.Settings{
		Rate: c.rate, Duration: c.duration, Warmup: c.warmup, Symbols: c.symbols, SignalRatio: c.signalRatio,
		Format: c.format, Wait: wait.String(), Pace: pace.String(), NATS: "embedded", Mode: "e2e", GOGC: gogc}}
	if c.natsURL != "" {
		res.Settings.NATS = redactURL(c.natsURL) // result.json and report.txt get shared
	}
	if c.inproc {
		res.Settings.Mode, res.Settings.NATS = "inproc", "none"
	}
	if c.fused {
		res.Settings.Mode += "-fused"
		res.Settings.Wait = "none" // one goroutine: nothing waits
	}
	// The cache's speed before and after the run, in the report: on a
	// shared host it moves with the neighbours' load, and the latencies
	// with it (see bench.CacheProbe). Outside the profile and the trace.
	var prober *bench.Prober
	if c.cacheProbe {
		prober = bench.NewDefaultProber()
		res.Cache.Before = prober.Probe()
	}
	res.Sides, err = c.recorded(stderr, func() ([]bench.Side, error) {
		if c.inproc {
			s, err := bench.RunInproc(ctx, bench.InprocOptions{Pattern: c.pattern(), FullSpeed: c.rate == 0,
				Format: format, Wait: wait, Pace: pace, Fused: c.fused})
			if err != nil && !stoppedAfterMeasuring(ctx, err, s) {
				return nil, err
			}
			return []bench.Side{s, bench.ClockFloor(max(int(s.Received), 10000))}, err
		}
		return benchE2E(ctx, &c, format, pace, stderr)
	})
	// Interrupted, the run still reports what it measured, where the whole
	// report would have gone, marked partial; the command then fails, so
	// that a script does not take the partial report for a full one.
	stopped := err != nil && len(res.Sides) > 0
	switch {
	case stopped:
		res.Partial = partialReason(context.Cause(ctx), c.duration, res.Sides, c.inproc)
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("interrupted (%v) before any tick of the measured window was sent: no report", context.Cause(ctx))
	case err != nil:
		return err
	}
	if prober != nil {
		res.Cache.After = prober.Probe()
	}
	res.Timing = bench.TimingOf(res.Settings.Mode)
	if err := bench.WriteReport(out, &res, stdout); err != nil {
		return err
	}
	if stopped {
		fmt.Fprintf(stdout, "partial report: %s\n", out)
		return fmt.Errorf("%s: partial report in %s", res.Partial, out)
	}
	fmt.Fprintf(stdout, "report: %s\n", out)
	return nil
}

// stoppedAfterMeasuring says that err is the run's context ending it after
// some of the measured window was sent: what s holds then is worth a
// (partial) report.
func stoppedAfterMeasuring(ctx context.Context, err error, s bench.Side) bool {
	return ctx.Err() != nil && errors.Is(err, ctx.Err()) && s.Sent > 0
}

// partialReason is a report's Partial for a run interrupted (cause) before
// its end: how much of the window each side ran, and that the floor was
// not measured when the end-to-end run stopped before it.
func partialReason(cause error, window time.Duration, sides []bench.Side, inproc bool) string {
	var ran []string
	for _, s := range sides {
		if s.Name != "clock" { // not a run over the window
			ran = append(ran, fmt.Sprintf("%s ran %v of the %v window", s.Name, s.Elapsed.Round(time.Millisecond), window))
		}
	}
	if !inproc && len(sides) == 1 {
		ran = append(ran, "the floor was not measured")
	}
	return fmt.Sprintf("interrupted (%v): %s", cause, strings.Join(ran, ", "))
}

// validate checks the flags as given, before anything starts: a zero
// -duration or -symbols is refused, not read as the default.
func (c *benchConfig) validate() error {
	switch {
	case c.rate == 0 && !c.inproc:
		return errors.New("rate 0 (full speed) is for -inproc only: the end-to-end load is open-loop")
	case c.gogc < -1:
		return fmt.Errorf("gogc %d: want -1 (off) or more", c.gogc)
	case c.inproc && c.natsURL != "":
		return errors.New("-nats-url with -inproc: the in-process run uses no NATS (the URL would be ignored)")
	}
	p := bench.Pattern{Rate: c.rate, Duration: c.duration, Warmup: c.warmup, Symbols: c.symbols, SignalRatio: c.signalRatio}
	return p.Validate(c.inproc && c.rate == 0)
}

// reportDir makes dir (a new tickd-bench-* directory under the system temp
// dir when empty) and checks that a file can be written in it; created
// says that the directory did not exist before.
func reportDir(dir string) (_ string, created bool, _ error) {
	if dir == "" {
		dir, err := os.MkdirTemp("", "tickd-bench-")
		return dir, err == nil, err
	}
	_, err := os.Stat(dir)
	created = errors.Is(err, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("-out: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tickd-bench-*")
	if err != nil {
		return "", false, fmt.Errorf("-out: %w", err)
	}
	f.Close()
	return dir, created, os.Remove(f.Name())
}

// recorded runs measure under the CPU profile and the execution trace the
// flags ask for, stopping them (a failure to is reported on stderr) before
// it returns.
func (c *benchConfig) recorded(stderr io.Writer, measure func() ([]bench.Side, error)) ([]bench.Side, error) {
	for _, rec := range []struct {
		what, to string
		start    func(string) (func() error, error)
	}{{"profile", c.profile, startProfile}, {"trace", c.trace, startTrace}} {
		if rec.to == "" {
			continue
		}
		stop, err := rec.start(rec.to)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stderr, "tickd bench: %s: %v\n", rec.what, err)
			}
		}()
	}
	return measure()
}

// benchE2E runs tickd's pipeline in this process against a NATS server
// (an embedded one of its own, or -nats-url), measures it under the load,
// stops it, and then measures the floor on the same server: nothing of
// tickd runs while the floor is measured.
func benchE2E(ctx context.Context, c *benchConfig, format feed.Format, pace bench.Pace, stderr io.Writer) ([]bench.Side, error) {
	url := c.natsURL
	if url == "" {
		// tickd and the floor both reach this server over TCP, as an
		// external one: the floor's publisher is then tickd's equal.
		srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
		if err != nil {
			return nil, err
		}
		defer srv.Shutdown()
		url = srv.ClientURL()
		// The server may drop, uncounted, what a subscriber too far
		// behind would be sent (see bus.Backlog): say so when the backlog
		// gets there, since the bench's drops would then come from there.
		wctx, stopWatch := context.WithCancel(ctx)
		watched := make(chan error, 1)
		go func() {
			watched <- srv.WatchBacklogs(wctx, 10*time.Millisecond, func(b bus.Backlog) {
				fmt.Fprintf(stderr, "tickd bench: %s is %d MiB behind (max_pending %d MiB): past 3/4 of it the NATS server may drop its messages, uncounted\n",
					b.Client, b.Pending>>20, b.Limit>>20)
			})
		}()
		defer func() { stopWatch(); <-watched }()
	}
	sub, err := nats.Connect(url, nats.Name("tickd-bench-sub"))
	if err != nil {
		return nil, fmt.Errorf("nats: connect %s: %w", redactURL(url), err)
	}
	defer sub.Close()

	log, err := newLogger(stderr, "warn", false)
	if err != nil {
		return nil, err
	}
	// A prefix of our own: on a shared server, nobody else's signals (or
	// floor messages) reach our subscriber.
	prefix := bus.DefaultPrefix + ".bench" + strconv.Itoa(os.Getpid())
	// serve's own defaults, then what the bench needs: its feed, its
	// server, one price rule, bars too long to close during the run.
	cfg, err := serveDefaults("-feed-listen", "127.0.0.1:0", "-feed-format", c.format,
		"-nats-url", url, "-subject-prefix", prefix, "-publisher-id", "tickd-bench", "-bars", "1h", "-wait", c.wait,
		"-max-symbols", strconv.Itoa(max(1024, 2*c.symbols)), "-fused="+strconv.FormatBool(c.fused))
	if err != nil {
		return nil, err
	}
	cfg.rules = []ruleConfig{{ID: bench.RuleID, Type: "price", Dir: "both", Level: bench.DefaultLevel.String()}}
	// tickd runs until the load is done with it, interrupted too: the
	// load then awaits the signals of the ticks it sent.
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	p, err := startPipeline(pctx, &cfg, log)
	if err != nil {
		return nil, err
	}
	load, err := bench.RunLoad(ctx, bench.LoadOptions{Pattern: c.pattern(), Addr: p.FeedAddr().String(), Sub: sub,
		Subject: bus.Subjects{Prefix: cfg.prefix}.AllSignals(), Format: format, Pace: pace})
	stop()
	if werr := p.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("tickd: %w", werr)
	}
	if err != nil && stoppedAfterMeasuring(ctx, err, load.Side) {
		return []bench.Side{load.Side}, err // the floor not measured
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil { // interrupted as the load ended
		return []bench.Side{load.Side}, err
	}

	pub, err := nats.Connect(url, nats.Name("tickd-bench-floor"))
	if err != nil {
		return nil, fmt.Errorf("nats: connect %s: %w", redactURL(url), err)
	}
	defer pub.Close()
	size := int(math.Round(load.MeanPayload))
	if size == 0 {
		size = bench.TypicalSignalSize()
	}
	// The floor carries what tickd published, at the rate tickd published
	// it: one message per signal, not per tick.
	floor, err := bench.RunFloor(ctx, bench.FloorOptions{Pub: pub, Sub: sub, Rate: c.rate * c.signalRatio, Duration: c.duration,
		Subject: prefix + ".floor", Warmup: c.pattern().Warmup, PayloadSize: size, Pace: pace})
	switch {
	case err != nil && stoppedAfterMeasuring(ctx, err, floor):
		return []bench.Side{load.Side, floor}, err
	case err != nil && ctx.Err() != nil:
		return []bench.Side{load.Side}, err // the floor not measured
	case err != nil:
		return nil, err
	}
	return []bench.Side{load.Side, floor}, nil
}

// startProfile starts a CPU profile in dir; the function it returns stops
// it and writes the allocation profile beside it.
func startProfile(dir string) (func() error, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	stop, err := startRecording(filepath.Join(dir, "cpu.pprof"), pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return nil, err
	}
	return func() error {
		err := stop()
		f, ferr := os.Create(filepath.Join(dir, "allocs.pprof"))
		if ferr != nil {
			return errors.Join(err, ferr)
		}
		err = errors.Join(err, pprof.Lookup("allocs").WriteTo(f, 0))
		return errors.Join(err, f.Close())
	}, nil
}

// startTrace starts an execution trace into path; the function it returns
// stops it. Where a latency tail comes from (a goroutine waiting for a P,
// for the network, for the collector) is in the trace, not in a profile.
func startTrace(path string) (func() error, error) {
	return startRecording(path, trace.Start, trace.Stop)
}

// startRecording creates path and starts a runtime recorder (the CPU
// profiler, the execution tracer) writing to it; the function it returns
// stops the recorder and closes the file.
func startRecording(path string, start func(io.Writer) error, stop func()) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		stop()
		return f.Close()
	}, nil
}

// benchGOGC is tickd bench's GOGC unless told otherwise: at 1M messages/s
// the bench's nats.go subscriber and NATS server allocate hundreds of MB/s
// and, at GOGC 100, collect every few milliseconds (measured: fused at 1M
// signals/s, p50 15–68 ms and 2 of 7 runs with drops at 100; 4–9 ms and 0
// of 6 at 400).
const benchGOGC = 400

// runGOGC is the GOGC of a bench run: the flag's when given, else the
// environment's GOGC ("off" is -1), else benchGOGC.
func runGOGC(flag int, env string) int {
	switch {
	case flag != 0:
		return flag
	case env == "off":
		return -1
	}
	if n, err := strconv.Atoi(env); err == nil && n >= 0 {
		return n
	}
	return benchGOGC
}
