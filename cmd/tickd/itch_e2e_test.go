package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/tick"
)

// itchRules are book and trade rules without cooldowns, so a short
// simulated session fires each of them many times.
const itchRules = `
bars: [1s]
rules:
  - {id: wide, type: spread, bps: 15, hysteresis: 3}
  - {id: imb, type: imbalance, k: 0.5, levels: 3, hysteresis: 0.2}
  - {id: thru, type: trade_through, bps: 0}
  - {id: z2, type: zscore, k: 2, hysteresis: 0.5}
`

// itchRecords renders published records canonically, one line each, so
// the live run and the reference compare as string lists. Receive and
// publish times are left out: they are wall times.
type itchRecords struct {
	mu      sync.Mutex
	signals []string
	bars    []string
	bbos    map[string][]string // by symbol
}

func (r *itchRecords) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.signals) + len(r.bars)
	for _, b := range r.bbos {
		n += len(b)
	}
	return n
}

func fmtValues(names [3]string, v [3]float64) string {
	var parts []string
	for i, n := range names {
		if n != "" {
			parts = append(parts, n+"="+strconv.FormatFloat(v[i], 'g', -1, 64))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func fmtSide(p string, shares, orders int64) string {
	return fmt.Sprintf("%s x %d (%d)", p, shares, orders)
}

// add takes one message from NATS.
func (r *itchRecords) add(m bus.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch m := m.(type) {
	case *bus.Signal:
		var parts []string
		for _, n := range slices.Sorted(maps.Keys(m.Values)) {
			parts = append(parts, n+"="+strconv.FormatFloat(m.Values[n], 'g', -1, 64))
		}
		r.signals = append(r.signals, fmt.Sprintf("%s %s %v %d %s %s", m.Symbol, m.Rule, m.Dir, m.TsEvent, m.Price, strings.Join(parts, ",")))
	case *bus.Bar:
		r.bars = append(r.bars, fmt.Sprintf("%s %v %d %s %s %s %s %d %s %d", m.Symbol, m.Interval, m.Start, m.Open, m.High, m.Low, m.Close, m.Volume, m.VWAP, m.Count))
	case *bus.BBO:
		r.bbos[m.Symbol] = append(r.bbos[m.Symbol], fmt.Sprintf("%d %s %s", m.TsEvent,
			fmtSide(bboSide(m.Bid), m.BidSize, m.BidOrders), fmtSide(bboSide(m.Ask), m.AskSize, m.AskOrders)))
	}
}

// reference builds the records tickd must publish for msgs by decoding
// them and running them through one engine Step configured like serve.
func itchReference(t *testing.T, ecfg engine.Config, msgs [][]byte) *itchRecords {
	t.Helper()
	syms := tick.NewSymbolTable(1024)
	dec, err := itch.NewDecoder(itch.Options{Symbols: syms})
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.NewStep(ecfg, syms)
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]tick.Event, 0, len(msgs)+1)
	for _, m := range msgs {
		var ev tick.Event
		if ok, err := dec.Decode(m, &ev); err != nil {
			t.Fatal(err)
		} else if ok {
			evs = append(evs, ev)
		}
	}
	var end tick.Event
	dec.EndOfStream(&end)
	evs = append(evs, end)
	ref := &itchRecords{bbos: map[string][]string{}}
	rules := ecfg.Rules
	price := func(p tick.Price, shares int64, orders uint32) string {
		if shares == 0 && orders == 0 {
			return fmtSide("-", 0, 0)
		}
		return fmtSide(p.String(), shares, int64(orders))
	}
	st.Process(evs, func(o *tick.Out) {
		switch o.Kind {
		case tick.OutSignal:
			s := &o.Signal
			_, _, names := rules[s.Rule].Info()
			dir := "up"
			if s.Dir < 0 {
				dir = "down"
			}
			ref.signals = append(ref.signals, fmt.Sprintf("%s %s %s %d %s %s", syms.Name(s.Symbol), rules[s.Rule].ID, dir, s.TsEvent, s.Price, fmtValues(names, s.Values)))
		case tick.OutBar:
			b := &o.Bar
			ref.bars = append(ref.bars, fmt.Sprintf("%s %v %d %s %s %s %s %d %s %d", syms.Name(b.Symbol), time.Duration(b.Interval), b.Start, b.Open, b.High, b.Low, b.Close, b.Volume, b.VWAP, b.Count))
		case tick.OutBBO:
			b := &o.BBO
			name := syms.Name(b.Symbol)
			ref.bbos[name] = append(ref.bbos[name], fmt.Sprintf("%d %s %s", b.TsEvent, price(b.Bid, b.BidShares, b.BidOrders), price(b.Ask, b.AskShares, b.AskOrders)))
		}
	})
	return ref
}

// TestServeITCHEndToEnd: `tickd gen -format itch` serves a simulated
// exchange session over SoupBinTCP, and over MoldUDP64 with 5% of packets
// dropped on purpose; `tickd serve -feed-format itch` takes it in, and a
// real NATS subscriber receives exactly the signals, bars and BBOs that the
// same messages read from the file produce: gaps recovered by
// retransmission lose nothing, and the books end where the file's do.
func TestServeITCHEndToEnd(t *testing.T) {
	gen := []string{"-count", "30000", "-seed", "21", "-symbols", "6", "-live-orders", "3000", "-rate", "60000"}
	msgs := itchFile(t, gen...)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "tickd.yaml")
	if err := os.WriteFile(cfgPath, []byte(itchRules), 0o600); err != nil {
		t.Fatal(err)
	}
	serveArgs := func(feedURL, natsURL string) []string {
		return []string{"-config", cfgPath, "-feed-format", "itch", "-feed-dial", feedURL, "-nats-url", natsURL,
			"-publisher-id", "itch-e2e", "-book-orders", "65536"}
	}
	// The reference runs the engine configured exactly as serve is.
	var cfg serveConfig
	fs := newServeFlags(&cfg, io.Discard)
	if err := parseFlags(fs, serveArgs("soupbin://127.0.0.1:1", "nats://127.0.0.1:1")); err != nil {
		t.Fatal(err)
	}
	fc, err := loadConfigFile(cfgPath, fs)
	if err != nil {
		t.Fatal(err)
	}
	cfg.rules = fc.Rules
	if err := applyLayers(fs, fc, noEnv); err != nil {
		t.Fatal(err)
	}
	ecfg, err := cfg.engineConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := itchReference(t, ecfg, msgs)
	perRule := map[string]int{}
	for _, s := range want.signals {
		perRule[strings.Fields(s)[1]]++
	}
	for _, r := range []string{"wide", "imb", "thru", "z2"} {
		if perRule[r] == 0 {
			t.Fatalf("the reference fires no %q signal (%v): the session is too tame to test it", r, perRule)
		}
	}
	t.Logf("reference: %d signals %v, %d bars, BBOs for %d symbols", len(want.signals), perRule, len(want.bars), len(want.bbos))

	t.Run("soupbin", func(t *testing.T) {
		t.Setenv("TICKD_SOUPBIN_USERNAME", "e2e")
		t.Setenv("TICKD_SOUPBIN_PASSWORD", "pw")
		t.Setenv("TICKD_SOUPBIN_SESSION", "E2E")
		var genErr lineWatcher
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		genDone := make(chan error, 1)
		go func() {
			genDone <- runGen(ctx, append([]string{"-format", "itch", "-to", "soupbin://127.0.0.1:0", "-linger", "1500ms"}, gen...), io.Discard, &genErr)
		}()
		addr := genErr.wait(t, regexp.MustCompile(`soupbin listening on (\S+)`))
		served := startITCHServe(t, ctx, serveArgs, "soupbin://"+addr)
		// The session's end stops its source and serve says so; else only
		// /readyz would tell that the feed is gone for good.
		waitUntil(t, "the session's end logged", 45*time.Second, func() bool {
			return strings.Contains(served.stderr.String(), `"message":"ITCH session ended`)
		})
		served.check(t, want)
		if err := <-genDone; err != nil {
			t.Fatalf("gen: %v\n%s", err, genErr.String())
		}
	})

	// Over MoldUDP64 with 5% of packets dropped; then the same with the
	// engine and publisher fused onto the session's goroutine (-fused).
	mold := func(t *testing.T, extra ...string) {
		line, rewind := freeUDP(t), freeUDP(t)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var genErr lineWatcher
		genDone := make(chan error, 1)
		// The receiver asks for the session from sequence 1, so packets sent
		// before it is bound are recovered through the rewind server too.
		feedURL := fmt.Sprintf("mold://%s?rewind=%s&session=E2EMOLD&seq=1", line, rewind)
		// Block, not drop, when the engine is behind: this test is about
		// packets lost on the wire, and a loaded machine must not turn it
		// into a test of the drop policy (TestLossesReported has that).
		blocking := func(feedURL, natsURL string) []string {
			return append(append(serveArgs(feedURL, natsURL), "-udp-backpressure", "block"), extra...)
		}
		served := startITCHServe(t, ctx, blocking, feedURL)
		// The rewind server must outlast serve's recovery of the last gaps,
		// which on a loaded machine runs seconds behind the sender: gen
		// lingers until serve has taken the whole session, not for a set time.
		genCtx, stopGen := context.WithCancel(ctx)
		defer stopGen()
		go func() {
			genDone <- runGen(genCtx, append([]string{"-format", "itch", "-to", "mold://" + line, "-mold-session", "E2EMOLD",
				"-rewind", rewind, "-drop", "0.05", "-linger", "1h"}, gen...), io.Discard, &genErr)
		}()
		served.check(t, want)
		stopGen()
		if err := <-genDone; err != nil {
			t.Fatalf("gen: %v\n%s", err, genErr.String())
		}
		if !strings.Contains(served.stderr.String(), "ITCH session") {
			t.Errorf("serve did not log its session:\n%s", served.stderr.String())
		}
		if fused := len(extra) > 0; !strings.Contains(served.stderr.String(), fmt.Sprintf(`"fused":%v`, fused)) {
			t.Errorf("serve did not log fused %v:\n%s", fused, served.stderr.String())
		}
	}
	t.Run("mold-drop", func(t *testing.T) { mold(t) })
	t.Run("mold-drop-fused", func(t *testing.T) { mold(t, "-fused") })
}

// itchServe is a running `tickd serve` with its own NATS server and a
// subscriber that was listening before the feed started.
type itchServe struct {
	got    *itchRecords
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startITCHServe(t *testing.T, ctx context.Context, args func(feed, nats string) []string, feedURL string) *itchServe {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s := &itchServe{got: &itchRecords{bbos: map[string][]string{}}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	if _, err := bus.Subscribe(nc, "tickd.>", s.got.add); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go func() { s.done <- runServe(sctx, args(feedURL, srv.ClientURL()), io.Discard, s.stderr) }()
	return s
}

// check waits for every record the reference holds (or the deadline), a
// moment more for any extra, stops serve and compares.
func (s *itchServe) check(t *testing.T, want *itchRecords) {
	t.Helper()
	n := want.count()
	deadline := time.Now().Add(45 * time.Second)
	for s.got.count() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	s.cancel()
	if err := <-s.done; err != nil {
		t.Fatalf("serve: %v\n%s", err, s.stderr.String())
	}
	got := s.got
	got.mu.Lock()
	defer got.mu.Unlock()
	diff := func(what string, g, w []string) {
		t.Helper()
		if slices.Equal(g, w) {
			return
		}
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("%s %d of %d/%d:\n got  %s\n want %s\nserve log:\n%s", what, i, len(g), len(w), g[i], w[i], s.stderr.String())
			}
		}
		t.Fatalf("%s: got %d, want %d\nserve log:\n%s", what, len(g), len(w), s.stderr.String())
	}
	diff("signal", got.signals, want.signals)
	diff("bar", got.bars, want.bars)
	for _, sym := range slices.Sorted(maps.Keys(want.bbos)) {
		diff("BBO of "+sym, got.bbos[sym], want.bbos[sym])
	}
	if len(got.bbos) != len(want.bbos) {
		t.Fatalf("BBOs for %d symbols, want %d", len(got.bbos), len(want.bbos))
	}
}
