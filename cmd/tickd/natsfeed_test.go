package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
)

// TestNATSFeedSettingsRefused: a bad -feed-nats, and -feed-nats with
// -fused, fail at start naming the flag and the problem.
func TestNATSFeedSettingsRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-feed-nats", "ticks..a"}, "feed-nats: nats feed \"ticks..a\": subject \"ticks..a\": empty token"},
		{[]string{"-feed-nats", "ticks?group=g"}, "unknown option \"group\" (want queue or format)"},
		{[]string{"-feed-nats", "ticks", "-fused"}, "fused: not with -feed-nats"},
	} {
		cfg, err := serveDefaults(append([]string{"-feed-listen", "", "-nats-listen", "off"}, c.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		log, _ := newLogger(&syncBuffer{}, "info", false)
		p, err := startPipeline(ctx, &cfg, log)
		if err == nil {
			cancel()
			p.Wait()
			t.Errorf("%v started", c.args)
			continue
		}
		cancel()
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %q, want %q", c.args, err, c.want)
		}
	}
}

// TestFeedSourceGivenTwiceRefused: a second -feed-nats or -feed-kafka is
// refused, naming both, rather than replacing the first, whose subject or
// topic would go unread.
func TestFeedSourceGivenTwiceRefused(t *testing.T) {
	for _, c := range []struct{ flag, first, second string }{
		{"feed-nats", "a.>", "ticks.>"},
		{"feed-kafka", "kafka://k:9092/a", "kafka://k:9092/ticks"},
	} {
		var cfg serveConfig
		var stderr strings.Builder
		err := parseFlags(newServeFlags(&cfg, &stderr), []string{"-" + c.flag, c.first, "-" + c.flag, c.second})
		if err == nil {
			t.Errorf("two -%s accepted", c.flag)
			continue
		}
		if want := fmt.Sprintf("-%s: given twice (%q, then %q)", c.flag, c.first, c.second); !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q, want %q", stderr.String(), want)
		}
	}
}

// TestFeedSourceListInConfigRefused: a config file's list for a source
// given once is refused naming the line, not joined with ',' into one
// value (feed-nats [ticks.a, ticks.b] subscribed to "ticks.a,ticks.b", a
// subject nothing publishes on); a list of one is its one value.
func TestFeedSourceListInConfigRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ yaml, want string }{
		{"bars: [1s]\nfeed-nats: [ticks.a, ticks.b]\n", "line 2: feed-nats: a list of 2, but it is given once: tickd takes one subscription"},
		{"feed-kafka:\n  - kafka://k:9092/a\n  - kafka://k:9092/b\n", "line 2: feed-kafka: a list of 2, but it is given once: tickd consumes one topic"},
		{"feed-nats: [ticks.a]\n", ""},
	} {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		var cfg serveConfig
		fc, err := loadConfigFile(path, newServeFlags(&cfg, io.Discard))
		if c.want == "" {
			if err != nil || fc.Settings["feed-nats"] != "ticks.a" {
				t.Errorf("%q: %v, settings %v", c.yaml, err, fc)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want ...%s", c.yaml, err, c.want)
		}
	}
}

// TestNATSFeedOwnSubjectsRefused: a pattern that matches tickd's own
// output (under -subject-prefix) is refused, since every signal, bar and
// stats message would come back as bad input; one beside it is taken.
func TestNATSFeedOwnSubjectsRefused(t *testing.T) {
	for _, c := range []struct {
		prefix, spec string
		refused      bool
	}{
		{"tickd", ">", true},
		{"tickd", "tickd.>", true},
		{"tickd", "*.signal.>", true},
		{"tickd", "*.*", true}, // tickd.status
		{"tickd", "tickd.bar.1s.*", true},
		{"md.tickd", "md.*.bar.>", true},
		{"tickd", "tickd", false},
		{"tickd", "ticks.>", false},
		{"tickd", "*", false},
		{"tickd", "tickd.in.>", false}, // under the prefix, beside what tickd publishes
		{"tickd", "tickd.status.x", false},
		{"md.tickd", "md.*", false},
		{"md.tickd", "md.ticks.>", false},
	} {
		cfg := serveConfig{feedFormat: "csv", feedNATS: c.spec, prefix: c.prefix}
		_, err := cfg.natsFeedSource()
		if refused := err != nil && strings.Contains(err.Error(), "tickd's own subjects ("+c.prefix+"."); refused != c.refused {
			t.Errorf("-subject-prefix %s -feed-nats %s: %v, want refused %v", c.prefix, c.spec, err, c.refused)
		}
	}
}

// TestNATSFeedFormatAndShardQueue: a spec without format= takes
// -feed-format's (native when that is itch); with -shard each shard has a
// queue group of its own, so shards never split the messages.
func TestNATSFeedFormatAndShardQueue(t *testing.T) {
	for _, c := range []struct {
		feedFormat, spec string
		want             feed.Format
	}{
		{"csv", "t", feed.FormatCSV},
		{"itch", "t", feed.FormatNative},
		{"csv", "t?format=json", feed.FormatJSON},
	} {
		cfg := serveConfig{feedFormat: c.feedFormat, feedNATS: c.spec}
		nc, err := cfg.natsFeedSource()
		if err != nil || nc.Format != c.want {
			t.Errorf("-feed-format %s -feed-nats %s: %v, %v; want format %v", c.feedFormat, c.spec, nc, err, c.want)
		}
	}
	cfg := serveConfig{feedFormat: "csv", feedNATS: "t?queue=q", shard: shardFlag{Index: 1, Count: 2}}
	if nc, err := cfg.natsFeedSource(); err != nil || nc.Queue != "q-shard1of2" {
		t.Errorf("-shard 1/2: %v, %v; want queue q-shard1of2", nc, err)
	}
}

// TestNATSFeedMetricsAndReadyz: ticks published on subjects the -feed-nats
// pattern matches are decoded, a bad one counted; /metrics carries the
// source's messages, bad messages, drops and subscription and its feed
// counters, and /readyz is ready.
func TestNATSFeedMetricsAndReadyz(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg, err := serveDefaults("-feed-listen", "", "-nats-url", srv.ClientURL(), "-metrics", "127.0.0.1:0",
		"-feed-nats", "ticks.>?format=csv&queue=q")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log, _ := newLogger(&syncBuffer{}, "info", false)
	p, err := startPipeline(ctx, &cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() { cancel(); p.Wait() }()
	nc, err := srv.ConnectInProcess()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for subj, data := range map[string]string{"ticks.a": "1700000000000000001,AAA,100,1\n", "ticks.b": "not a tick"} {
		if err := nc.Publish(subj, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + p.MetricsAddr().String()
	waitUntil(t, "2 messages counted", 10*time.Second, func() bool {
		return getMetrics(t, base+"/metrics").sum("tickd_natsfeed_messages_total", `subject="ticks.>"`) == 2
	})
	m := getMetrics(t, base+"/metrics")
	for name, want := range map[string]float64{
		"tickd_natsfeed_bad_messages_total": 1, "tickd_natsfeed_dropped_total": 0, "tickd_natsfeed_subscribed": 1,
	} {
		if got := m.sum(name, `subject="ticks.>"`); got != want || !m.families[name] {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := m.sum("tickd_feed_events_total", `source="nats:ticks.>"`); got != 1 {
		t.Errorf("tickd_feed_events_total{source=nats:ticks.>} = %v, want 1", got)
	}
	if body := pollStatus(t, base+"/readyz", 200); !strings.Contains(body, "ready") {
		t.Errorf("/readyz %q", body)
	}
}

// startNATSFeedServe starts serve with -feed-nats spec (and args) on an
// in-process embedded server, logging to the buffer it returns; tickd's
// own connection (p.nc) publishes the test's messages.
func startNATSFeedServe(t *testing.T, spec string, args ...string) (*pipeline, *syncBuffer) {
	t.Helper()
	cfg, err := serveDefaults(append([]string{"-feed-listen", "", "-nats-listen", "off", "-feed-nats", spec}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, logs := startLoggedPipeline(t, ctx, &cfg)
	t.Cleanup(func() { cancel(); p.Wait() })
	return p, logs
}

// publishEach publishes data on each subject, then flushes.
func publishEach(t *testing.T, nc *nats.Conn, data string, subjects ...string) {
	t.Helper()
	for _, s := range subjects {
		if err := nc.Publish(s, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestNATSFeedBadInputLogLimitedAcrossSubjects: bad messages on many
// subjects of one pattern are logged at most once a second for the
// subscription, not once per subject; the line names the subject.
func TestNATSFeedBadInputLogLimitedAcrossSubjects(t *testing.T) {
	p, logs := startNATSFeedServe(t, "ticks.>?format=csv")
	var subjects []string
	for i := range 20 {
		subjects = append(subjects, fmt.Sprintf("ticks.s%d", i))
	}
	publishEach(t, p.nc, "not a tick\n", subjects...)
	waitUntil(t, "20 bad messages", 10*time.Second, func() bool { return p.natsFeed.BadMessages() == 20 })
	out := logs.String()
	if n := strings.Count(out, "bad input skipped"); n > 2 { // 2: the 20 may straddle a second
		t.Errorf("%d bad-input lines for 20 bad messages on 20 subjects; want at most 2:\n%s", n, out)
	}
	if !strings.Contains(out, `"source":"nats:ticks.>"`) || !strings.Contains(out, "nats:ticks.s0 byte 0") {
		t.Errorf("the bad-input line does not carry source nats:ticks.> and name subject ticks.s0:\n%s", out)
	}
}

// TestNATSFeedFramingLostPerMessageLimited: native messages whose framing
// is lost (CSV sent to a native subscription) each lose only their own
// rest: the log says so as a warning, at most once a second, not an
// error line per message claiming the source closed.
func TestNATSFeedFramingLostPerMessageLimited(t *testing.T) {
	p, logs := startNATSFeedServe(t, "ticks.>?format=native")
	var subjects []string
	for range 20 {
		subjects = append(subjects, "ticks.a")
	}
	publishEach(t, p.nc, "ts,symbol,price,size,side\n1700000000000000001,AAA,100,1,B\n", subjects...)
	waitUntil(t, "20 bad messages", 10*time.Second, func() bool { return p.natsFeed.BadMessages() == 20 })
	out := logs.String()
	if n := strings.Count(out, "rest of the message skipped"); n < 1 || n > 2 || strings.Contains(out, "source closed") {
		t.Errorf("%d 'rest of the message skipped' lines for 20 messages, want 1 or 2 and no 'source closed':\n%s", n, out)
	}
}

// TestNATSFeedNotRecordedSaysSo: -record with -feed-nats says at start
// that the NATS input is not captured, rather than "recording the feeds"
// alone and an empty capture.
func TestNATSFeedNotRecordedSaysSo(t *testing.T) {
	_, logs := startNATSFeedServe(t, "ticks.>", "-record", t.TempDir())
	if out := logs.String(); !strings.Contains(out, "-record does not capture -feed-nats") {
		t.Errorf("no warning that NATS input is not recorded:\n%s", out)
	}
}

// TestNATSFeedUnreachableSaysSo: -feed-nats on an embedded server without
// a listener (-nats-listen off) warns that no producer can reach it; with
// one it does not.
func TestNATSFeedUnreachableSaysSo(t *testing.T) {
	_, logs := startNATSFeedServe(t, "ticks.>")
	if out := logs.String(); !strings.Contains(out, "no producer can publish to -feed-nats") {
		t.Errorf("no warning that -feed-nats is unreachable with -nats-listen off:\n%s", out)
	}
	_, logs = startNATSFeedServe(t, "ticks.>", "-nats-listen", "127.0.0.1:0")
	if out := logs.String(); strings.Contains(out, "no producer can publish") {
		t.Errorf("warned with a listener:\n%s", out)
	}
}
