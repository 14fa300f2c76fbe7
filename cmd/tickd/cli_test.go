package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/goleak"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainExit([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "tickd ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	for _, args := range [][]string{{"version", "-x"}, {"version", "extra"}} {
		errb.Reset()
		if code := mainExit(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (as every command refuses what it does not take); stderr %q", args, code, errb.String())
		}
	}
	errb.Reset()
	if code := mainExit([]string{"nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Errorf("unknown command: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := mainExit([]string{"serve", "-shards", "x"}, &out, &errb); code != 2 {
		t.Errorf("bad flag: exit %d, %q", code, errb.String())
	}
	// `tickd help COMMAND` is the command's -h, as in go and git.
	errb.Reset()
	if code := mainExit([]string{"help", "inspect"}, &out, &errb); code != 0 || !strings.HasPrefix(errb.String(), "Usage: tickd inspect") {
		t.Errorf("help inspect: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := mainExit([]string{"help", "nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Errorf("help nope: exit %d, %q", code, errb.String())
	}
}

// TestDemoShowsSignals runs the demo as `make run` does (but with its NATS on
// a free port) and checks signals reach the screen within 5 seconds.
func TestDemoShowsSignals(t *testing.T) {
	var out, errb syncBuffer
	ctx := context.Background()
	err := runDemo(ctx, []string{"-duration", "5s", "-plain", "-nats-listen", "127.0.0.1:0"}, &out, &errb)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "SIGNAL ") {
		t.Fatalf("no signal shown in 5 s:\n%s\nstderr:\n%s", s, errb.String())
	}
	if !strings.Contains(s, "symbols 32") {
		t.Errorf("summary does not show 32 symbols:\n%s", s)
	}
}

// TestPackageDocListsCommands: the package doc names every command, as
// "(name)" or "(name," or, for version, by name.
func TestPackageDocListsCommands(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, _, _ := strings.Cut(string(src), "package main")
	for _, c := range commands() {
		if !strings.Contains(doc, "("+c.name+")") && !strings.Contains(doc, "("+c.name+",") && !strings.Contains(doc, " "+c.name+".") {
			t.Errorf("the package doc of cmd/tickd does not list %q", c.name)
		}
	}
}

// TestDemoCount: with -count the demo ends by itself once the engine has
// applied that many ticks, and with -nats-listen off it suggests no NATS
// subscriber; its help gives the demo's own -start default.
func TestDemoCount(t *testing.T) {
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := runDemo(ctx, []string{"-count", "300", "-rate", "5000", "-plain", "-nats-listen", "off", "-metrics", "", "-ui", ""}, &out, &errb)
	if err != nil || ctx.Err() != nil {
		t.Fatalf("demo -count: %v (context: %v)\n%s", err, ctx.Err(), errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "ticks 300 ") || strings.Contains(s, "nats sub") {
		t.Errorf("demo -count 300 -nats-listen off printed:\n%s", s)
	}
	var help syncBuffer
	if err := runDemo(ctx, []string{"-h"}, &out, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("demo -h: %v", err)
	}
	if !strings.Contains(help.String(), `or "now" (default "now")`) {
		t.Errorf("demo -h does not give -start's default as now:\n%s", help.String())
	}
}

// TestGenSubPipeline drives `tickd gen -to` into a running pipeline and
// reads what `tickd sub` prints from the embedded server's TCP port.
func TestGenSubPipeline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log, _ := newLogger(&bytes.Buffer{}, "warn", false)
	cfg := serveConfig{feedListen: "127.0.0.1:0", feedFormat: "csv", natsListen: "127.0.0.1:0", prefix: "tickd",
		shards: 2, sma: 50, emaHalfLife: time.Second, ringSize: 1024, wait: "park", maxSymbols: 1000, feedMaxConns: 4, maxFrame: 4096}
	p, err := startPipeline(ctx, &cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	var subOut, subErr bytes.Buffer
	subDone := make(chan error, 1)
	subs := p.srv.NATS().NumSubscriptions()
	go func() {
		subDone <- runSub(ctx, []string{"-nats-url", p.srv.ClientURL(), "-subject", "tickd.bar.1s.>", "-count", "5"}, &subOut, &subErr)
	}()
	// sub must subscribe before the bars flow (a fixed sleep here was too
	// short on a loaded machine).
	waitUntil(t, "sub to subscribe", 10*time.Second, func() bool { return p.srv.NATS().NumSubscriptions() > subs })
	var genErr bytes.Buffer
	if err := runGen(ctx, []string{"-to", p.FeedAddr().String(), "-format", "csv", "-count", "20000", "-rate", "5000", "-unpaced"}, &bytes.Buffer{}, &genErr); err != nil {
		t.Fatalf("gen: %v %s", err, genErr.String())
	}
	select {
	case err := <-subDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sub did not get 5 bars")
	}
	lines := strings.Split(strings.TrimSpace(subOut.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("sub printed %d lines:\n%s", len(lines), subOut.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "BAR ") || !strings.Contains(l, " 1s ") || !strings.Contains(l, "VWAP=") {
			t.Errorf("unexpected sub line %q", l)
		}
	}
	// Every tick gen wrote reaches the engine (the connection's tail may
	// still be in flight when gen returns).
	for deadline := time.Now().Add(10 * time.Second); p.eng.Counters().Trades < 20000 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if c, f := p.eng.Counters(), p.feedStats.Total(); c.Trades != 20000 || f.Errors != 0 {
		t.Errorf("engine saw %d trades, gen sent 20000; feed errors %d", c.Trades, f.Errors)
	}
}

func TestGenToFileIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	run := func(name string) []byte {
		path := filepath.Join(dir, name)
		var errb bytes.Buffer
		if err := runGen(context.Background(), []string{"-out", path, "-count", "2000", "-unpaced", "-seed", "9"}, &bytes.Buffer{}, &errb); err != nil {
			t.Fatalf("gen: %v %s", err, errb.String())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := run("a.bin"), run("b.bin")
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Fatalf("two runs with one seed differ (%d vs %d bytes)", len(a), len(b))
	}
	syms := tick.NewSymbolTable(0)
	d, _ := feed.NewDecoder("file", 1, feed.Options{Symbols: syms})
	evs := make([]tick.Event, 4096)
	n, used, err := d.Decode(evs, a)
	if err != nil || used != len(a) || n != 2001 { // 2000 trades and End of session
		t.Fatalf("decode: %d events, %d of %d bytes, %v", n, used, len(a), err)
	}
}

// TestGenUnknownFormatNamesITCH: gen's refusal of a format lists every one
// it takes, itch included, not only the tick formats it shares with serve.
func TestGenUnknownFormatNamesITCH(t *testing.T) {
	err := runGen(context.Background(), []string{"-format", "xml", "-out", filepath.Join(t.TempDir(), "x")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown format "xml"`) || !strings.Contains(err.Error(), "itch") {
		t.Errorf("gen -format xml: %v; want the formats, itch among them", err)
	}
}

// TestGenMalformedAddressFailsAtOnce: a -to that no wait makes dialable
// (a URL where HOST:PORT belongs) fails at once, naming -to, instead of
// being retried for the 10 s gen waits for a server to come up.
func TestGenMalformedAddressFailsAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := runGen(ctx, []string{"-to", "tcp://127.0.0.1:1", "-count", "1"}, io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "-to: connect tcp://127.0.0.1:1: ") || ctx.Err() != nil {
		t.Fatalf("gen -to tcp://127.0.0.1:1: %v after %v; want an error naming -to at once", err, time.Since(start))
	}
}

// TestGenRefusesNegativeLimits: a negative -count or -duration, a rate
// not above 0, and a -start outside int64 ns since the epoch, are refused, naming the flag, by gen (ticks and ITCH) and
// demo, where a negative count made gen write nothing and exit 0, demo run
// with no ticks, and -rate 0 paced at the default rate.
func TestGenRefusesNegativeLimits(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	for _, tc := range []struct {
		run  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
		want string
	}{
		{runGen, []string{"-out", out, "-count", "-1"}, "-count -1: want 0 (no limit) or more"},
		{runGen, []string{"-out", out, "-duration", "-1s"}, "-duration -1s: want 0 (no limit) or more"},
		{runGen, []string{"-format", "itch", "-out", out, "-count", "-1"}, "-count -1: want 0 (no limit) or more"},
		{runGen, []string{"-out", out, "-rate", "0"}, "-rate 0: want a rate above 0 (-unpaced writes as fast as it can)"},
		{runGen, []string{"-format", "itch", "-out", out, "-rate", "-5"}, "-rate -5: want a rate above 0 (-unpaced writes as fast as it can)"},
		{runDemo, []string{"-rate", "0", "-nats-listen", "off", "-ui", "", "-metrics", ""}, "-rate 0: want a rate above 0 (-unpaced writes as fast as it can)"},
		{runGen, []string{"-out", out, "-start", "3000-01-01T00:00:00Z"}, "-start 3000-01-01T00:00:00Z: event times are ns since the epoch, from 1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z"},
		{runGen, []string{"-format", "itch", "-out", out, "-start", "1600-01-01T00:00:00Z"}, "-start 1600-01-01T00:00:00Z: event times are ns since the epoch, from 1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z"},
		{runDemo, []string{"-count", "-1", "-nats-listen", "off", "-ui", "", "-metrics", ""}, "-count -1: want 0 (no limit) or more"},
		{runDemo, []string{"-duration", "-1s", "-nats-listen", "off", "-ui", "", "-metrics", ""}, "-duration -1s: want 0 (until Ctrl-C or -count) or more"},
	} {
		// Taken, the limits ran on: bound that with a deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := tc.run(ctx, tc.args, io.Discard, io.Discard); err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
		cancel()
	}
}

func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte("shards: 3\nsma: 7\nbars: [1s, 5m]\nrules:\n  - id: r1\n    type: zscore\n    k: 2\n"), 0o600)
	var errb bytes.Buffer
	var cfgHolder serveConfig
	fs := newServeFlags(&cfgHolder, &errb)
	if err := fs.Parse([]string{"-sma", "9"}); err != nil {
		t.Fatal(err)
	}
	fc, err := loadConfigFile(path, fs)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TICKD_SHARDS": "4"}
	if err := applyLayers(fs, fc, envOf(env)); err != nil {
		t.Fatal(err)
	}
	if cfgHolder.sma != 9 || cfgHolder.shards != 4 || cfgHolder.bars.String() != "1s,5m0s" {
		t.Errorf("layers: sma %d (flag 9) shards %d (env 4) bars %v (file)", cfgHolder.sma, cfgHolder.shards, cfgHolder.bars)
	}
	cfgHolder.rules = fc.Rules
	ec, err := cfgHolder.engineConfig()
	if err != nil || len(ec.Rules) != 1 || ec.Rules[0].K != 2 {
		t.Errorf("rules from file: %+v %v", ec.Rules, err)
	}

	for name, body := range map[string]string{
		"unknown key": "shardz: 2\n",
		"bad rule":    "rules:\n  - id: r\n    type: nope\n",
		"bad level":   "rules:\n  - id: r\n    type: price\n    level: \"1.0000000001\"\n",
		"bad value":   "shards: many\n",
	} {
		os.WriteFile(path, []byte(body), 0o600)
		var h serveConfig
		fs := newServeFlags(&h, &errb)
		fs.Parse(nil)
		fc, err := loadConfigFile(path, fs)
		if err == nil {
			err = applyLayers(fs, fc, noEnv)
		}
		if err == nil {
			h.rules = fc.Rules
			_, err = h.engineConfig()
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "config") && !strings.Contains(err.Error(), "engine") {
			t.Errorf("%s: error does not say where: %v", name, err)
		}
	}
}

// TestConfigEmptyEnvOverridesFile: a TICKD_* variable set to "" is set:
// it overrides the file, so TICKD_METRICS= turns the file's metrics off.
func TestConfigEmptyEnvOverridesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("metrics: 127.0.0.1:9464\nfeed-listen: 127.0.0.1:7001\nui: 127.0.0.1:8080\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TICKD_METRICS", "")
	t.Setenv("TICKD_FEED_LISTEN", "")
	var errb bytes.Buffer
	var c serveConfig
	fs := newServeFlags(&c, &errb)
	fs.Parse(nil)
	fc, err := loadConfigFile(path, fs)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyLayers(fs, fc, os.LookupEnv); err != nil {
		t.Fatal(err)
	}
	if c.metrics != "" || c.feedListen != "" || c.ui.addr != "127.0.0.1:8080" {
		t.Errorf("metrics %q feed-listen %q (both set empty in the environment), ui %q (file)", c.metrics, c.feedListen, c.ui.addr)
	}
}

// TestServeWarnsWithoutFeed: serve with no feed source at all (the listener
// turned off and nothing dialled, tailed or consumed) says so at start,
// rather than run reading nothing like a quiet market; with a feed, no word.
func TestServeWarnsWithoutFeed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		warn bool
	}{
		{[]string{"-feed-listen", ""}, true},
		{[]string{"-feed-listen", "127.0.0.1:0"}, false},
		{[]string{"-feed-listen", "", "-feed-tail", filepath.Join(t.TempDir(), "ticks.csv"), "-feed-format", "csv"}, false},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // start, then stop at once
		var errb syncBuffer
		if err := runServe(ctx, append(tc.args, "-nats-listen", "off"), io.Discard, &errb); err != nil {
			t.Fatalf("serve %q: %v\n%s", tc.args, err, errb.String())
		}
		if warned := strings.Contains(errb.String(), `"message":"no feed: -feed-listen is empty`); warned != tc.warn {
			t.Errorf("serve %q: warned of no feed %v, want %v\n%s", tc.args, warned, tc.warn, errb.String())
		}
	}
}

// noEnv is an empty environment for applyLayers.
func noEnv(string) (string, bool) { return "", false }

// envOf is the environment env for applyLayers.
func envOf(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestDemoPortTaken: a NATS port already in use is a clear error, not a crash.
func TestDemoPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out, errb bytes.Buffer
	err = runDemo(context.Background(), []string{"-duration", "1s", "-nats-listen", l.Addr().String()}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("demo on a taken NATS port: %v", err)
	}
}

// TestDemoMetricsPortTaken: a taken -metrics address falls back to a free
// port and says so, as a taken -ui address does.
func TestDemoMetricsPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out, errb syncBuffer
	err = runDemo(context.Background(), []string{"-count", "100", "-unpaced", "-nats-listen", "off", "-ui", "", "-metrics", l.Addr().String()}, &out, &errb)
	if err != nil || !strings.Contains(errb.String(), `"taken":"`+l.Addr().String()+`"`) ||
		!strings.Contains(errb.String(), "metrics address taken: using a free port") || !strings.Contains(out.String(), "metrics: http://127.0.0.1:") {
		t.Errorf("demo -metrics %s (taken): %v\nstdout:\n%s\nstderr:\n%s", l.Addr(), err, out.String(), errb.String())
	}
}

// TestSignalLineShowsPriceOnce: a price or move rule also records the trade
// price among its values; the line shows the exact price once, not that
// float beside it.
func TestSignalLineShowsPriceOnce(t *testing.T) {
	m := &bus.Signal{Symbol: "AAPL", Rule: "move_1pct", Dir: bus.Up, Price: decimal.RequireFromString("219.25"),
		Values: map[string]float64{"price": 219.25, "ref_price": 217.05, "move_pct": 1.0136}}
	got := formatMessage(m)
	if strings.Count(got, " price=") != 1 || !strings.Contains(got, "price=219.25 move_pct=1.0136 ref_price=217.05") {
		t.Errorf("signal line %q: want the exact price once, then the other values", got)
	}
}

// TestBinaryCarriesTimeZones: the binary links time/tzdata, so that
// America/New_York (ITCH times, -itch-date) resolves on a host without a
// time zone database, where it failed with "unknown time zone".
func TestBinaryCarriesTimeZones(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !slices.Contains(strings.Fields(string(out)), "time/tzdata") {
		t.Error("tickd does not link time/tzdata: -itch-date fails where the system has no zoneinfo")
	}
}

// TestGenRefusesNamesTheFormatCannotCarry: CSV and JSON lines have no
// escaping, so a name with a '"' (or in JSON a '\') would make every line of
// it one tickd rejects: gen refuses it; native frames carry any valid name.
func TestGenRefusesNamesTheFormatCannotCarry(t *testing.T) {
	for _, c := range []struct {
		format, names, refused string
	}{
		{"csv", `A,B"C`, `names "B\"C": the csv format has no escaping for its '"'`},
		{"json", `A\B`, `names "A\\B": the json format has no escaping for its '\\'`},
		{"json", `A"B`, `names "A\"B": the json format has no escaping for its '"'`},
		{"csv", `A\B`, ""},
		{"native", `A"B,C\D`, ""},
	} {
		path := filepath.Join(t.TempDir(), "out")
		err := runGen(context.Background(), []string{"-format", c.format, "-names", c.names, "-out", path, "-count", "3", "-unpaced"},
			&bytes.Buffer{}, &bytes.Buffer{})
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s %s: %v", c.format, c.names, err)
		case c.refused != "" && (err == nil || !strings.HasPrefix(err.Error(), c.refused)):
			t.Errorf("%s %s: %v, want %s", c.format, c.names, err, c.refused)
		}
	}
}

// TestDemoCountRejected: with -count the demo ends by itself even when the
// feed rejects the ticks (event times more than -feed-max-ahead ahead of
// the clock, here -start two hours on); it waited for the engine to apply
// them, for ever.
func TestDemoCountRejected(t *testing.T) {
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	err := runDemo(ctx, []string{"-count", "300", "-rate", "5000", "-start", start, "-plain", "-nats-listen", "off", "-metrics", "", "-ui", ""}, &out, &errb)
	if err != nil || ctx.Err() != nil {
		t.Fatalf("demo -count -start %s: %v (context: %v)\n%s", start, err, ctx.Err(), errb.String())
	}
	if !strings.Contains(errb.String(), "time_ahead") {
		t.Errorf("demo -start %s did not report time_ahead:\n%s", start, errb.String())
	}
}

// TestDemoUnpacedRunsAhead: demo -unpaced writes event time faster than
// the clock runs; past serve's -feed-max-ahead (an hour: 7.2M ticks at the
// demo's 2000 ticks/s) the engine took none of them and the demo stood
// still. -rate 1 runs an hour of event time in 3601 ticks.
func TestDemoUnpacedRunsAhead(t *testing.T) {
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := runDemo(ctx, []string{"-count", "5000", "-rate", "1", "-unpaced", "-plain", "-nats-listen", "off", "-metrics", "", "-ui", ""}, &out, &errb)
	if err != nil || ctx.Err() != nil {
		t.Fatalf("demo -unpaced: %v (context: %v)\n%s", err, ctx.Err(), errb.String())
	}
	if s := out.String(); !strings.Contains(s, "ticks 5000 ") || strings.Contains(errb.String(), "time_ahead") {
		t.Errorf("demo -unpaced -rate 1 -count 5000 did not apply every tick:\n%s\n%s", s, errb.String())
	}
}

// TestMoldPortTaken: a MoldUDP64 line that cannot be bound fails serve and
// record at start-up, naming the feed and why, as a taken -feed-listen
// does; it used to fail as a stage after "tickd running", leaving a
// process up that would never receive anything.
func TestMoldPortTaken(t *testing.T) {
	taken, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	url := "mold://" + taken.LocalAddr().String()
	for name, run := range map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"serve": runServe, "record": runRecord,
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"-feed-format", "itch", "-feed-dial", url, "-feed-listen", ""}
			if name == "serve" {
				args = append(args, "-nats-listen", "off")
			} else {
				args = append(args, "-out", t.TempDir())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var errb syncBuffer
			err := run(ctx, args, io.Discard, &errb)
			if ctx.Err() != nil {
				t.Fatalf("%s ran on with its only feed unbound until stopped (%v):\n%s", name, err, errb.String())
			}
			if err == nil || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("%s on a taken MoldUDP64 port: %v, want an error naming %s and the bind", name, err, url)
			}
		})
	}
}

// TestVersionFromVCS: a binary built with a plain go build (no -ldflags
// version) says the commit go stamped into it, as make build's git
// describe --always --dirty would, instead of "dev".
func TestVersionFromVCS(t *testing.T) {
	stamp := func(kv ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return info
	}
	fromModule := func(v string) *debug.BuildInfo {
		info := stamp("-buildmode", "exe")
		info.Main.Version = v
		return info
	}
	for _, c := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{stamp("vcs", "git", "vcs.revision", "9b60af5c0ffee1234567890abcdef0123456789a", "vcs.modified", "false"), "9b60af5"},
		{stamp("vcs.revision", "9b60af5c0ffee1234567890abcdef0123456789a", "vcs.modified", "true"), "9b60af5-dirty"},
		{stamp("-buildmode", "exe"), "dev"}, // no VCS stamp (a tarball, -buildvcs=false)
		{fromModule("v1.4.0"), "v1.4.0"},    // go install ...@v1.4.0: the module proxy has no VCS
		{fromModule("(devel)"), "dev"},
	} {
		if got := vcsVersion(c.info); got != c.want {
			t.Errorf("vcsVersion(%v) = %q, want %q", c.info.Settings, got, c.want)
		}
	}
}

// TestFailedStartLeavesNoCaptureDir: serve -record and record whose start
// fails after the capture directory was made (the feed port taken) remove
// the directories they created and the lock file: a failed start leaves
// nothing behind for the operator to clean up.
func TestFailedStartLeavesNoCaptureDir(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for name, run := range map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"serve": runServe, "record": runRecord,
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "new", "captures")
			args := []string{"-feed-listen", taken.Addr().String()}
			if name == "serve" {
				args = append(args, "-nats-listen", "off", "-record", dir)
			} else {
				args = append(args, "-out", dir)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var errb syncBuffer
			err := run(ctx, args, io.Discard, &errb)
			if err == nil || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("%s on a taken feed port: %v, want the bind error\n%s", name, err, errb.String())
			}
			left, _ := os.ReadDir(root)
			if len(left) != 0 {
				var names []string
				filepath.WalkDir(root, func(p string, _ fs.DirEntry, _ error) error { names = append(names, p); return nil })
				t.Fatalf("%s failed at start and left behind: %v", name, names)
			}
		})
	}
}
