package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/sim"
)

// genConfig is the simulated exchange's settings, shared by gen and demo.
type genConfig struct {
	format   string
	rate     float64
	count    int64
	duration time.Duration
	symbols  int
	names    listFlag
	seed     uint64
	start    string
	unpaced  bool
}

// register binds the flags to c. start is -start's default: "" for the
// simulator's fixed start (sim.DefaultStart), or "now".
func (c *genConfig) register(fs *flag.FlagSet, rate float64, start string) {
	fs.StringVar(&c.format, "format", "native", "wire format: native, csv or json (gen also: itch)")
	fs.Float64Var(&c.rate, "rate", rate, "mean ticks per second (event time, and wall time unless -unpaced)")
	fs.Int64Var(&c.count, "count", 0, "stop after this many ticks (0: no limit)")
	fs.IntVar(&c.symbols, "symbols", 32, "how many generated symbols (AAA, AAB, ...)")
	fs.Var(&c.names, "names", "symbol names to use instead of generated ones (comma-separated; csv and json lines cannot carry a '\"', json a '\\')")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed: the same seed and start give the same stream")
	startHelp := "event time of the first tick, RFC 3339 or \"now\""
	if start == "" {
		startHelp += " (default " + sim.DefaultStart.Format(time.RFC3339) + ")"
	}
	fs.StringVar(&c.start, "start", start, startHelp)
	fs.BoolVar(&c.unpaced, "unpaced", false, "write as fast as possible instead of at -rate")
}

func (c *genConfig) generator() (*sim.Generator, sim.WriteOptions, error) {
	if err := c.check(); err != nil {
		return nil, sim.WriteOptions{}, err
	}
	format, err := feed.ParseFormat(c.format)
	if err != nil {
		return nil, sim.WriteOptions{}, err
	}
	if err := textCarries(format, c.names); err != nil {
		return nil, sim.WriteOptions{}, err
	}
	cfg := sim.Config{Symbols: c.names, Count: c.symbols, Seed: c.seed, Rate: c.rate}
	if cfg.Start, err = c.startTime(); err != nil {
		return nil, sim.WriteOptions{}, err
	}
	g, err := sim.New(cfg)
	return g, sim.WriteOptions{Format: format, Count: c.count, Duration: c.duration, Unpaced: c.unpaced}, err
}

// check refuses the limits the generators would take silently: a negative
// -count sent nothing, a negative -duration was ignored, and -rate 0 ran at
// the default rate (the simulators' zero value) where its giver expected
// no pacing or an error.
func (c *genConfig) check() error {
	if !(c.rate > 0) || math.IsInf(c.rate, 0) {
		return fmt.Errorf("-rate %v: want a rate above 0 (-unpaced writes as fast as it can)", c.rate)
	}
	if c.count < 0 {
		return fmt.Errorf("-count %d: want 0 (no limit) or more", c.count)
	}
	if c.duration < 0 {
		return fmt.Errorf("-duration %v: want 0 (no limit) or more", c.duration)
	}
	return nil
}

// textCarries refuses a name the text format cannot carry: it has no
// escaping, so tickd's decoders would reject every line of that symbol (a
// CSV '"', a JSON '"' or '\').
func textCarries(format feed.Format, names []string) error {
	bad := map[feed.Format]string{feed.FormatCSV: `"`, feed.FormatJSON: `"\`}[format]
	for _, n := range names {
		if i := strings.IndexAny(n, bad); i >= 0 {
			return fmt.Errorf("names %q: the %s format has no escaping for its %q: tickd would reject every line of it", n, format, n[i])
		}
	}
	return nil
}

// startTime is -start: the zero time when not given.
func (c *genConfig) startTime() (time.Time, error) {
	switch c.start {
	case "":
		return time.Time{}, nil
	case "now":
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, c.start)
	if err != nil {
		return time.Time{}, fmt.Errorf("-start: %w", err)
	}
	// Event times are int64 ns since the epoch: past these bounds they
	// wrapped (3000-01-01 was written as 1830, 1600-01-01 as 2184).
	if first, last := time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64); t.Before(first) || t.After(last) {
		return time.Time{}, fmt.Errorf("-start %s: event times are ns since the epoch, from %s to %s",
			c.start, first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// runGen is `tickd gen`.
func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg genConfig
	cfg.register(fs, 1000, "")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop after this much event time (0: no limit)")
	to := fs.String("to", "", "TCP address to connect to and send the feed (e.g. 127.0.0.1:7000; waits up to 10s for it to listen)")
	out := fs.String("out", "", "file to write the feed to (\"-\" for standard output)")
	var itf itchFlags
	itf.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd gen (-to ADDR | -out FILE) [flags]\n\nA simulated exchange: a seeded random walk of trades.\n%s\n", itchUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*to == "") == (*out == "") {
		fmt.Fprintln(stderr, "tickd gen: give exactly one of -to and -out")
		return errUsage
	}
	if err := checkITCHServerFlags(visited(fs), *to, genTarget(cfg.format, *to, *out)); err != nil {
		return err
	}
	if cfg.format == "itch" {
		return runGenITCH(ctx, fs, &cfg, &itf, *to, *out, stdout, stderr)
	}
	g, wopts, err := cfg.generator()
	if err != nil {
		if _, ferr := feed.ParseFormat(cfg.format); ferr != nil {
			return fmt.Errorf("%w (or itch)", ferr) // gen's formats are the feed's and ITCH
		}
		return err
	}
	var w io.Writer
	switch {
	case *to != "":
		c, err := dialRetry(ctx, *to, 10*time.Second)
		if err != nil {
			return fmt.Errorf("-to: %w", err)
		}
		defer c.Close()
		w = c
	case *out == "-":
		w = stdout
	default:
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	wopts.Header = true
	start := time.Now()
	n, err := sim.Write(ctx, w, g, wopts)
	el := time.Since(start)
	// What went out: after a failed write, not the ticks it held.
	fmt.Fprintf(stderr, "tickd gen: %d ticks, %d bytes written in %v (%.0f ticks/s)\n", n.Trades, n.Bytes, el.Round(time.Millisecond), float64(n.Trades)/el.Seconds())
	return err
}

// genTarget says how gen's output was given, for errors.
func genTarget(format, to, out string) string {
	switch {
	case format != "itch":
		return "with -format " + format
	case to != "":
		return "with -to " + to
	}
	return "with -out " + out
}

// visited are the flags set on fs's command line.
func visited(fs *flag.FlagSet) []string {
	var given []string
	fs.Visit(func(f *flag.Flag) { given = append(given, f.Name) })
	return given
}

// dialRetry connects to addr, retrying while the other side is not up yet;
// an address that no wait can make dialable (malformed, such as
// tcp://HOST:PORT, or a host that does not exist) fails at once.
func dialRetry(ctx context.Context, addr string, patience time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(patience)
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c, nil
		}
		var bad *net.AddrError
		var dns *net.DNSError
		if errors.As(err, &bad) || (errors.As(err, &dns) && dns.IsNotFound) {
			return nil, fmt.Errorf("connect %s: %w", addr, err)
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("connect %s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
