package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/kafka"
	"github.com/tickd/tickd/feed/natsfeed"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// serveConfig is every setting of the pipeline. Each is a flag of `tickd
// serve`, a key of its YAML config file and a TICKD_* variable.
type serveConfig struct {
	feedListen   string
	feedFormat   string
	feedDial     listFlag
	feedTail     listFlag
	tailFromEnd  bool   // -feed-tail-from-end: a file there at start is read from its end
	feedKafka    string // one Kafka topic (kafka.go); a plain string: broker lists hold commas
	feedNATS     string // one NATS subscription (natsfeed.go)
	feedMaxConns int
	feedStale    time.Duration
	maxFrame     int
	maxAhead     time.Duration // -feed-max-ahead
	itchDate     string

	natsURL     string
	natsListen  string
	prefix      string
	publisherID string

	shards          int
	sma             int
	windows         durationsFlag
	emaHalfLife     time.Duration
	bars            durationsFlag
	ringSize        int
	wait            string
	maxSymbols      int
	bookOrders      int
	udpBackpressure string
	bboInterval     time.Duration
	fused           bool // -fused: decode, engine and publishing on the feed's goroutine (fused.go)

	logLevel   string
	metrics    string // -metrics: the /metrics, /healthz, /readyz address ("": off)
	configPath string
	rules      []ruleConfig

	record recordConfig // -record: capture the feeds while serving
	books  bool         // replay: the inputs carry L3 books (ITCH) without an ITCH feed

	sec securityConfig // NATS authentication, NATS and feed TLS (security.go)

	js    jsConfig  // -jetstream: durable signals and bars (jetstream.go)
	shard shardFlag // -shard i/N: the symbols this instance owns (shard.go)
	ui    uiConfig  // -ui: the live dashboard (ui.go)
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	c.registerFeeds(fs, "127.0.0.1:7000")
	fs.StringVar(&c.natsURL, "nats-url", "", "external NATS server URL; empty runs an embedded server")
	fs.StringVar(&c.natsListen, "nats-listen", "127.0.0.1:4222", "embedded NATS server's client address (\"off\": in-process only)")
	fs.StringVar(&c.prefix, "subject-prefix", bus.DefaultPrefix, "first token of every published subject")
	fs.StringVar(&c.publisherID, "publisher-id", "", "publisher id in every message (default host-pid)")
	fs.IntVar(&c.shards, "shards", 1, "engine goroutines; symbols are split across them")
	fs.IntVar(&c.sma, "sma", 50, "trades behind the SMA, stddev and z-score")
	fs.Var(&c.windows, "windows", "event-time windows; stats' mean is the first's (default 1s,60s)")
	fs.DurationVar(&c.emaHalfLife, "ema-half-life", 10*time.Second, "EMA half-life in event time")
	fs.Var(&c.bars, "bars", "OHLCV bar intervals (default 1s,1m)")
	fs.IntVar(&c.ringSize, "ring-size", engine.DefaultRingCapacity, "slots per engine input ring (a power of two)")
	fs.StringVar(&c.wait, "wait", "park", "how idle stages wait: spin (one core each), yield, or park (spin, then yield, then sleep until woken)")
	fs.StringVar(&c.udpBackpressure, "udp-backpressure", "drop", "when the engine is behind a MoldUDP64 feed: drop (the newest, counted and reported on <prefix>.status) or block (TCP feeds always block)")
	fs.IntVar(&c.bookOrders, "book-orders", 1<<20, "live orders each shard's L3 books are sized for (ITCH; 0: the default)")
	fs.DurationVar(&c.feedStale, "feed-stale", 15*time.Second, "report a feed source stale on <prefix>.status after this long with nothing received, not even a heartbeat; a listener connection so silent gives its slot to a new one beyond -feed-max-conns (0: never)")
	fs.StringVar(&c.metrics, "metrics", "", "address of the Prometheus /metrics, /healthz and /readyz server, e.g. 127.0.0.1:9464 (\"\": off)")
	fs.BoolVar(&c.fused, "fused", false, "decode, engine and NATS publishing on the feed source's goroutine: the least latency, for one feed source (one shard, no -feed-kafka or -feed-nats; -wait and -ring-size then apply to nothing)")
	fs.DurationVar(&c.bboInterval, "bbo-interval", 0, "least event time between two BBOs of a symbol (0: every change; negative: no BBOs)")
	fs.Var(&onceFlag{v: &c.feedKafka, hint: "tickd consumes one topic"}, "feed-kafka", "Kafka topic to consume in a consumer group: kafka://BROKER[,BROKER]/TOPIC[?group=NAME&format=native|csv|json&commit=1s] (group defaults to tickd, format to -feed-format; given once)")
	fs.Var(&onceFlag{v: &c.feedNATS, hint: "tickd takes one subscription; one pattern takes several subjects (ticks.>, ticks.*.trades)"}, "feed-nats", "NATS subject to take ticks from on tickd's own NATS connection (embedded server or -nats-url), each message a whole stream: SUBJECT[?queue=NAME&format=native|csv|json] (wildcards allowed; format defaults to -feed-format; at-most-once, slow-consumer drops counted; given once)")
	c.record.register(fs, "record", "record-")
	c.sec.register(fs)
	c.js.register(fs)
	fs.Var(&c.shard, "shard", "i/N: own the symbols whose FNV-1a 32 hash mod N is i, of N instances splitting one feed (every one with the same N; with -feed-kafka each shard has its own consumer group, GROUP-shardIofN, and reads every partition; with -feed-nats its own queue group, QUEUE-shardIofN)")
	c.ui.register(fs)
}

// registerFeeds registers the feed flags (serve's and record's), the
// listener on listen by default, and -max-symbols and -log-level.
func (c *serveConfig) registerFeeds(fs *flag.FlagSet, listen string) {
	fs.StringVar(&c.feedListen, "feed-listen", listen, "TCP address to accept feed connections on (\"\" for none)")
	fs.StringVar(&c.feedFormat, "feed-format", "native", "feed wire format: native, csv, json or itch (ITCH 5.0 over -feed-dial soupbin:// or mold:// URLs)")
	fs.Var(&c.feedDial, "feed-dial", "feed(s) to connect to, reconnecting (comma-separated or repeated): HOST:PORT for native/csv/json; soupbin://HOST:PORT or mold://HOST:PORT for itch")
	fs.StringVar(&c.itchDate, "itch-date", "", "trading day of the ITCH session, YYYY-MM-DD (ITCH times count from its midnight in New York); default: event times are ns since midnight")
	fs.Var(&c.feedTail, "feed-tail", "file(s) to follow like tail -F, read from their start unless -feed-tail-from-end (comma-separated or repeated); a rotated or recreated file is read from its start")
	fs.BoolVar(&c.tailFromEnd, "feed-tail-from-end", false, "start a -feed-tail file that exists at start-up after its last whole line or frame, so that a restart does not publish a day's file again (what it holds is read once at start-up, publishing nothing, for the native Symbol frames, sequence and line numbers of what follows)")
	fs.IntVar(&c.feedMaxConns, "feed-max-conns", feed.DefaultMaxConns, "feed connections served at once")
	fs.IntVar(&c.maxFrame, "feed-max-frame", feed.DefaultMaxFrame, "largest native frame / longest text line, bytes")
	fs.DurationVar(&c.maxAhead, "feed-max-ahead", time.Hour, "reject a native or text tick whose event time is more than this past its receive time, counted and logged as time_ahead: one mistyped far-future time would become its symbol's clock, holding its bars open and its rules in cooldown (0: no limit; replay applies it to captures, against the receive times recorded)")
	fs.IntVar(&c.maxSymbols, "max-symbols", tick.DefaultMaxSymbols, "symbols the symbol table holds, at most 16777216 (0: the default)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

// checkMaxAhead refuses a negative -feed-max-ahead by its flag's name.
func checkMaxAhead(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("feed-max-ahead %v: want 0 (no limit) or more", d)
	}
	return nil
}

// maxSymbolsLimit bounds -max-symbols. The table is allocated up front (24
// to 32 bytes a symbol: 384 MiB here) and symbol IDs are 32-bit, so a
// larger value would fail at start as the runtime running out of memory;
// feeds name far fewer (ITCH stock locates are 16-bit, a native
// connection's symbol indexes 18-bit).
const maxSymbolsLimit = 1 << 24

// symbolTable returns the symbol table -max-symbols asks for.
func (c *serveConfig) symbolTable() (*tick.SymbolTable, error) {
	if c.maxSymbols > maxSymbolsLimit {
		return nil, fmt.Errorf("max-symbols %d not in 1..%d (0 or less: the default, %d)", c.maxSymbols, maxSymbolsLimit, tick.DefaultMaxSymbols)
	}
	return tick.NewSymbolTable(c.maxSymbols), nil
}

// demoRules returns the demo rules for c's feed and -sma, and those left
// out (see demoRules).
func (c *serveConfig) demoRules() (rules, leftOut []engine.RuleSpec) {
	return demoRules(c.feedFormat == "itch" || c.books, c.sma)
}

// engineConfig builds the engine's typed configuration.
func (c *serveConfig) engineConfig() (engine.Config, error) {
	wait, err := ringbuf.ParseWaitStrategy(c.wait)
	if err != nil {
		return engine.Config{}, err
	}
	rules, _ := c.demoRules()
	if c.rules != nil {
		if rules, err = ruleSpecs(c.rules); err != nil {
			return engine.Config{}, err
		}
	}
	var bell *ringbuf.Bell // the parked publisher's wake-up; spinning stages need none
	if wait == ringbuf.Park {
		bell = ringbuf.NewBell()
	}
	return engine.Config{Shards: c.shards, RingCapacity: c.ringSize, Wait: wait, SMA: c.sma,
		Windows: c.windows, EMAHalfLife: c.emaHalfLife, Bars: c.bars, Rules: rules,
		BookOrders: c.bookOrders, BBOInterval: c.bboInterval, OutputBell: bell,
		Partition: engine.Partition(c.shard)}, nil
}

// checkTails refuses a -feed-tail path that is a directory, or a file given
// twice (by the same path or another way to it): followed twice, each of
// its trades would count twice in every bar and statistic.
func checkTails(paths []string) error {
	seen := make(map[string]string, len(paths)) // cleaned path → as given
	var files []os.FileInfo                     // of the paths that exist
	var names []string
	for _, path := range paths {
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		if first, ok := seen[abs]; ok {
			return tailedTwice(path, first)
		}
		seen[abs] = path
		fi, err := os.Stat(path)
		if err != nil {
			continue // not there yet: waited for
		}
		if fi.IsDir() {
			return fmt.Errorf("feed-tail %q: is a directory: give the file to follow", path)
		}
		for i, other := range files {
			if os.SameFile(fi, other) {
				return tailedTwice(path, names[i])
			}
		}
		files, names = append(files, fi), append(names, path)
	}
	return nil
}

func tailedTwice(path, first string) error {
	return fmt.Errorf("feed-tail %q: the same file as %q: followed twice, its trades would count twice", path, first)
}

// feedSources is the validated feed side of a serveConfig.
type feedSources struct {
	format   feed.Format             // of the listener, dials and tails (native, csv, json)
	dial     []string                // TCP addresses
	itch     []feed.ITCHSourceConfig // ITCH sessions (-feed-format itch)
	itchDate time.Time
	kafka    *kafka.Config    // -feed-kafka, or nil
	nats     *natsfeed.Config // -feed-nats, or nil
}

// sources validates the feed settings before anything starts. With
// -feed-format itch every -feed-dial is a soupbin:// or mold:// URL, and
// the TCP listener (which carries tickd's own formats) is not started.
func (c *serveConfig) sources() (feedSources, error) {
	var src feedSources
	var err error
	if src.kafka, err = c.kafkaSource(); err != nil {
		return src, err
	}
	if src.nats, err = c.natsFeedSource(); err != nil {
		return src, err
	}
	if c.udpBackpressure != "" { // "" (a config built in code): the default, drop
		if _, err := engine.ParseBackpressure(c.udpBackpressure); err != nil {
			return src, fmt.Errorf("udp-backpressure: %w", err)
		}
	}
	if c.itchDate != "" {
		d, err := time.Parse(time.DateOnly, c.itchDate)
		if err != nil {
			return src, fmt.Errorf("itch-date %q: want YYYY-MM-DD", c.itchDate)
		}
		src.itchDate = d
	}
	if err := checkTails(c.feedTail); err != nil {
		return src, err
	}
	if err := checkMaxAhead(c.maxAhead); err != nil {
		return src, err
	}
	if c.feedFormat != "itch" {
		f, err := feed.ParseFormat(c.feedFormat)
		if err != nil {
			return src, fmt.Errorf("%w (or itch)", err)
		}
		for _, a := range c.feedDial {
			if strings.Contains(a, "://") {
				return src, fmt.Errorf("feed-dial %q: a URL is an ITCH session: add -feed-format itch", a)
			}
			// An address no dial can reach would be retried for ever.
			_, port, err := net.SplitHostPort(a)
			if err != nil || port == "" {
				return src, fmt.Errorf("feed-dial %q: want HOST:PORT", a)
			}
			if n, err := net.LookupPort("tcp", port); err != nil || n == 0 { // 99999, -1, a service not in /etc/services
				return src, fmt.Errorf("feed-dial %q: port %q: want 1..65535 or a known service name", a, port)
			}
		}
		src.format, src.dial = f, c.feedDial
		return src, nil
	}
	if len(c.feedTail) > 0 {
		return src, errors.New("feed-tail: ITCH arrives over soupbin:// or mold:// (-feed-dial); tail CSV or JSON files with -feed-format csv|json")
	}
	if len(c.feedDial) == 0 {
		return src, errors.New("feed-format itch: give the session with -feed-dial soupbin://HOST:PORT or mold://HOST:PORT")
	}
	for _, a := range c.feedDial {
		ic, err := feed.ParseITCHURL(a)
		if err != nil {
			return src, fmt.Errorf("feed-dial: %w", err)
		}
		if ic.Transport == feed.TransportSoupBin {
			// A missing creds file or variable is a setting's mistake: refuse
			// it now, not as a stage failing after "tickd running".
			if _, err := ic.Credentials(); err != nil {
				return src, fmt.Errorf("feed-dial %s: %w", ic, err)
			}
		}
		src.itch = append(src.itch, ic)
	}
	return src, nil
}

// credsFiles are the SoupBinTCP sessions' creds files.
func (src feedSources) credsFiles() []string {
	var files []string
	for _, ic := range src.itch {
		if ic.CredsFile != "" {
			files = append(files, ic.CredsFile)
		}
	}
	return files
}

// hasFeed reports whether any feed source is set: with none, serve reads
// nothing and so publishes nothing, which looks like a quiet market.
func (c *serveConfig) hasFeed() bool {
	return c.feedListen != "" || len(c.feedDial) > 0 || len(c.feedTail) > 0 || c.feedKafka != "" || c.feedNATS != ""
}

// listens reports whether the feed listener runs: -feed-listen is set and
// the feed is not ITCH (whose sessions are dialled).
func (c *serveConfig) listens(src feedSources) bool {
	return c.feedListen != "" && len(src.itch) == 0
}

// serveDefaults returns serve's default settings with args (serve flags)
// applied, for the commands that run a pipeline of their own.
func serveDefaults(args ...string) (serveConfig, error) {
	var cfg serveConfig
	err := parseFlags(newServeFlags(&cfg, io.Discard), args)
	return cfg, err
}

// newServeFlags returns the flag set of `tickd serve`, bound to cfg.
func newServeFlags(cfg *serveConfig, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.register(fs)
	fs.StringVar(&cfg.configPath, "config", "", "YAML config file (keys are these flag names, plus rules:); or TICKD_CONFIG")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd serve [flags]\n\nSettings come from flags, then TICKD_<FLAG> variables (feed-listen → TICKD_FEED_LISTEN),\nthen the config file, then defaults.\n\n")
		fs.PrintDefaults()
	}
	return fs
}
