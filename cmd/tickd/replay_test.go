package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
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

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/feed/soupbin"
	"github.com/tickd/tickd/replay"
	"github.com/tickd/tickd/tick"
)

// collector keeps the messages a NATS subscription receives, by kind and
// symbol, in arrival order, without the fields that differ between runs.
type collector struct {
	mu   sync.Mutex
	n    int
	last time.Time
	by   map[string][]string // "kind symbol" → normalised JSON
}

func (c *collector) add(m *nats.Msg) {
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return
	}
	for _, k := range []string{"ts_recv", "ts_pub", "seq", "publisher"} {
		delete(v, k)
	}
	b, _ := json.Marshal(v)
	key := fmt.Sprintf("%v %v %v", v["kind"], v["symbol"], v["interval"])
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string][]string{}
	}
	c.by[key] = append(c.by[key], string(b))
	c.n++
	c.last = time.Now()
}

func (c *collector) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func (c *collector) countKind(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.by {
		if strings.HasPrefix(k, kind+" ") {
			n += len(v)
		}
	}
	return n
}

// quiet waits until nothing has arrived for d (and at least one message has).
func (c *collector) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		ok := c.n > 0 && time.Since(c.last) > d
		c.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("messages never settled")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// subscribeAll connects to a tickd's NATS (retrying until it is up) and
// collects the subjects.
func subscribeAll(t *testing.T, url string, subjects ...string) (*nats.Conn, *collector) {
	t.Helper()
	var nc *nats.Conn
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if nc, err = nats.Connect(url); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("NATS %s never came up: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(nc.Close)
	c := &collector{}
	for _, s := range subjects {
		if _, err := nc.Subscribe(s, c.add); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return nc, c
}

var summaryRE = regexp.MustCompile(`tickd replay: (\d+) messages \(.*\), (\d+) events, (\d+) signals, (\d+) bars, (\d+) BBOs in \S+ \(\d+ msgs/s, \d+ events/s, `)

// replayRun is a `tickd replay` running in the test: started paused (so
// the subscriber is in place first) and holding NATS after the end.
type replayRun struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
	stdout *syncBuffer
	stderr *syncBuffer
	nc     *nats.Conn
	col    *collector
}

func startReplay(t *testing.T, args ...string) *replayRun {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := &replayRun{t: t, cancel: cancel, done: make(chan error, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	args = append(args, "-nats-listen", fmt.Sprintf("127.0.0.1:%d", port), "-paused", "-hold", "-progress", "lines")
	go func() { r.done <- runReplay(ctx, args, r.stdout, r.stderr) }()
	r.nc, r.col = subscribeAll(t, fmt.Sprintf("nats://127.0.0.1:%d", port), "tickd.signal.>", "tickd.bar.>", "tickd.bbo.>")
	return r
}

// control sends a control request and decodes the reply.
func (r *replayRun) control(req string) replayState {
	r.t.Helper()
	// The control subscription may not be there yet when NATS first
	// accepts clients: retry until it answers.
	var m *nats.Msg
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if m, err = r.nc.Request("tickd.control.replay", []byte(req), 200*time.Millisecond); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
		if time.Now().After(deadline) {
			r.t.Fatalf("control %q: %v\n%s\n%s", req, err, r.stderr, r.stdout)
		}
	}
	var st replayState
	if err := json.Unmarshal(m.Data, &st); err != nil {
		r.t.Fatalf("control %q: reply %s: %v", req, m.Data, err)
	}
	return st
}

// summary waits for the summary line: messages, events, signals, bars, BBOs.
func (r *replayRun) summary() [5]int {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := summaryRE.FindStringSubmatch(r.stdout.String()); m != nil {
			var out [5]int
			for i := range out {
				out[i], _ = strconv.Atoi(m[i+1])
			}
			return out
		}
		select {
		case err := <-r.done:
			r.t.Fatalf("replay ended early: %v\nstdout %s\nstderr %s", err, r.stdout, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no summary\nstdout %s\nstderr %s", r.stdout, r.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finish waits for the subscriber to hold every published message, then
// stops the replay.
func (r *replayRun) finish(sum [5]int) {
	r.t.Helper()
	want := sum[2] + sum[3] + sum[4]
	deadline := time.Now().Add(10 * time.Second)
	for r.col.count() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := r.col.count(); n != want {
		r.t.Errorf("subscriber got %d messages, the summary says %d were published", n, want)
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Fatalf("replay: %v\n%s", err, r.stderr)
		}
	case <-time.After(10 * time.Second):
		r.t.Fatal("replay did not exit")
	}
}

const detRules = `
sma: 20
bars: [100ms, 1s]
rules:
  - id: z
    type: zscore
    k: 1.5
    hysteresis: 0.3
  - id: mv
    type: move
    percent: 0.05
    window: 1s
    hysteresis: 0.01
  - id: x
    type: ma_cross
    fast: 20ms
    slow: 200ms
    hysteresis: 0.0001
`

// TestReplayDeterminism is the acceptance test of recording: a live
// `tickd serve -record` fed by `tickd gen`, then `tickd replay` of the
// capture (rotated into several files) at max speed and at 10x, each on
// its own embedded NATS, must publish the same signals and bars (all but
// the wall times, seq and publisher), in the same order per symbol.
func TestReplayDeterminism(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "tickd.yaml")
	if err := os.WriteFile(cfgPath, []byte(detRules), 0o600); err != nil {
		t.Fatal(err)
	}
	capDir := filepath.Join(dir, "cap")
	feedPort, natsPort := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	served := make(chan error, 1)
	go func() {
		served <- runServe(ctx, []string{"-config", cfgPath, "-feed-listen", fmt.Sprintf("127.0.0.1:%d", feedPort),
			"-nats-listen", fmt.Sprintf("127.0.0.1:%d", natsPort), "-record", capDir, "-record-max-bytes", "65536", "-record-max-age", "50ms",
			"-log-level", "warn"}, io.Discard, stderr)
	}()
	_, live := subscribeAll(t, fmt.Sprintf("nats://127.0.0.1:%d", natsPort), "tickd.signal.>", "tickd.bar.>")
	var genErr bytes.Buffer
	if err := runGen(context.Background(), []string{"-to", fmt.Sprintf("127.0.0.1:%d", feedPort), "-rate", "20000", "-count", "5000",
		"-symbols", "6", "-seed", "11"}, io.Discard, &genErr); err != nil {
		t.Fatalf("gen: %v %s", err, genErr.String())
	}
	live.quiet(t, 300*time.Millisecond)
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(capDir, "*"))
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".idx") })
	if len(files) < 2 {
		t.Fatalf("capture %v in %s: want it rotated into several files, to replay as one session\n%s", files, capDir, stderr)
	}
	nsig, nbar := live.countKind("signal"), live.countKind("bar")
	t.Logf("live: %d signals, %d bars; capture %v", nsig, nbar, files)
	if nsig < 20 || nbar < 20 {
		t.Fatalf("live run gave %d signals and %d bars: the rules must fire for the comparison to mean anything", nsig, nbar)
	}
	for _, speed := range []string{"max", "10"} {
		args := append(slices.Clone(files), "-speed", speed, "-config", cfgPath)
		r := startReplay(t, args...)
		start := time.Now()
		if st := r.control("resume"); st.State != "running" {
			t.Fatalf("resume: state %+v", st)
		}
		sum := r.summary()
		el := time.Since(start)
		r.finish(sum)
		t.Logf("speed %s: %v, summary %v", speed, el, sum)
		if sum[2] != nsig || sum[3] != nbar {
			t.Errorf("speed %s: replay published %d signals and %d bars; live %d and %d", speed, sum[2], sum[3], nsig, nbar)
		}
		if !mapsEqual(t, speed, live.by, r.col.by) {
			continue
		}
	}
}

// mapsEqual compares two collections key by key, reporting the first
// difference of each key.
func mapsEqual(t *testing.T, what string, want, got map[string][]string) bool {
	t.Helper()
	ok := true
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("%s: %s: %d messages, live %d", what, k, len(g), len(w))
			ok = false
			continue
		}
		for i := range w {
			if g[i] != w[i] {
				t.Errorf("%s: %s #%d:\n replay %s\n live   %s", what, k, i, g[i], w[i])
				ok = false
				break
			}
		}
	}
	for k := range got {
		if _, in := want[k]; !in {
			t.Errorf("%s: %s published only by the replay", what, k)
			ok = false
		}
	}
	return ok
}

// TestReplayITCHSample replays the NASDAQ BX sample at max speed: BBOs and
// bars over NATS, and a summary that counts every message of the file.
func TestReplayITCHSample(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "data", "bx-itch50-sample.itch")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("sample feed data not present (%v): this test needs ../shared/data from the project workspace", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := itch.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	msgs := 0
	for _, err := fr.Next(); err == nil; _, err = fr.Next() {
		msgs++
	}
	f.Close()
	r := startReplay(t, path, "-speed", "max", "-bars", "1s")
	r.control("resume")
	sum := r.summary()
	r.finish(sum)
	if sum[0] != msgs || sum[1] == 0 {
		t.Errorf("summary %v: want %d messages", sum, msgs)
	}
	if r.col.countKind("bbo") == 0 || r.col.countKind("bar") == 0 || sum[4] != r.col.countKind("bbo") {
		t.Errorf("subscriber got %d BBOs and %d bars; summary %v", r.col.countKind("bbo"), r.col.countKind("bar"), sum)
	}
	if !strings.Contains(r.stdout.String(), "msgs/s") {
		t.Errorf("summary without a rate: %s", r.stdout)
	}
}

// TestReplayControl pauses, steps and resumes a replay over NATS, and
// plays only the symbols and times asked for.
func TestReplayControl(t *testing.T) {
	dir := t.TempDir()
	var b []byte
	base := time.Date(2026, 1, 2, 14, 30, 0, 0, time.UTC)
	for i := range 600 {
		sym := []string{"AAA", "BBB"}[i%2]
		b = feed.AppendCSV(b, base.Add(time.Duration(i)*10*time.Millisecond).UnixNano(), sym, tick.Price(100e9+int64(i)*1e7), 100, tick.SideBuy)
	}
	path := filepath.Join(dir, "ticks.csv")
	os.WriteFile(path, b, 0o600)
	r := startReplay(t, path, "-speed", "max", "-symbols", "AAA",
		"-from", base.Add(time.Second).Format(time.RFC3339Nano), "-to", base.Add(4*time.Second).Format(time.RFC3339Nano))
	st := r.control("state")
	if st.State != "paused" || st.Messages != 0 {
		t.Fatalf("state at start %+v", st)
	}
	r.control("step 5")
	deadline := time.Now().Add(5 * time.Second)
	for st = r.control("state"); st.Messages < 5 && time.Now().Before(deadline); st = r.control("state") {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if st = r.control("state"); st.State != "paused" || st.Messages != 5 {
		t.Fatalf("after step 5: %+v", st)
	}
	for _, bad := range []string{"bogus", "step 0", "step x", "step 1 2", "pause now"} {
		if st = r.control(bad); st.Error == "" {
			t.Errorf("bad request %q got no error", bad)
		}
	}
	r.control("resume")
	sum := r.summary()
	if st := r.control("state"); st.State != "done" || st.Messages != 600 {
		t.Errorf("state at the end %+v", st)
	}
	r.finish(sum)
	// AAA ticks with 1 s <= t <= 4 s: i even, 100 <= i <= 400, plus the end of stream.
	if sum[0] != 600 || sum[1] != 151+1 {
		t.Errorf("summary %v: want 600 messages, 152 events", sum)
	}
	for k := range r.col.by {
		if strings.Contains(k, "BBB") {
			t.Errorf("BBB published: %s", k)
		}
	}
}

// TestReplayPacing: a capture spanning a day of receive time replays at
// -speed 864000 in no less than its 0.1 s (pacing never runs ahead of the
// schedule), and at -speed max without waiting. Only the lower bound is a
// promise: a busy machine may run behind, so the rest is shown by the
// span, which at 1x (an ignored -speed) or at any pace up to 5000x (a
// paced max) would outlast the summary's wait many times over.
func TestReplayPacing(t *testing.T) {
	const n, span = 200, 24 * time.Hour
	path := filepath.Join(t.TempDir(), "span.tcap")
	w, err := replay.Create(path, replay.WriterOptions{Format: "native"})
	if err != nil {
		t.Fatal(err)
	}
	var enc feed.NativeEncoder
	w.Open(1, "tcp x")
	w.Data(1, t0, enc.Hello(nil))
	for i := range n {
		ts := t0 + int64(i)*int64(span/(n-1))
		w.Data(1, ts, enc.Trade(nil, "PAC", ts, tick.Price(10e9+int64(i)*1e7), 10, tick.SideBuy))
	}
	w.Close(1, t0+int64(span))
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, speed := range []string{"864000", "max"} {
		r := startReplay(t, path, "-speed", speed)
		r.control("state") // the control subscription answers: the clock times the replay alone
		start := time.Now()
		r.control("resume")
		sum := r.summary()
		took := time.Since(start)
		r.finish(sum)
		if sum[0] != n+1 || sum[1] != n+1 {
			t.Errorf("speed %s: summary %v", speed, sum)
		}
		t.Logf("speed %s: %v", speed, took)
		if speed != "max" && took < 90*time.Millisecond {
			t.Errorf("a %v capture at %sx took %v, less than its %v", span, speed, took, span/864000)
		}
	}
}

// TestRecordCommand records a native feed with `tickd record` and checks
// the capture holds exactly the bytes sent.
func TestRecordCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runRecord(ctx, []string{"-feed-listen", fmt.Sprintf("127.0.0.1:%d", port), "-out", dir, "-compress"}, io.Discard, stderr)
	}()
	var enc feed.NativeEncoder
	sent := enc.Hello(nil)
	for i := range 3000 {
		sent = enc.Trade(sent, "REC", t0+int64(i), 5e9, int64(i+1), tick.SideSell)
	}
	sent = enc.End(sent, t0+3000)
	c := dialEventually(t, fmt.Sprintf("127.0.0.1:%d", port))
	for rest := sent; len(rest) > 0; {
		n := min(len(rest), 777)
		c.Write(rest[:n])
		rest = rest[n:]
	}
	c.Close()
	// Stopped before it has read the connection to its end, record would
	// lose the rest (a fixed pause here could be too short on a loaded
	// machine): wait for the capture to hold it all, flushed within
	// FlushEvery.
	waitUntil(t, "the capture to hold the connection", 10*time.Second, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.cap"))
		if len(files) != 1 {
			return false
		}
		got, kinds, _, err := readCaptureFile(files[0])
		return err == nil && len(got) == len(sent) && kinds[len(kinds)-1] == replay.KindClose
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("record: %v\n%s", err, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.cap"))
	if len(files) != 1 {
		t.Fatalf("capture files %v\n%s", files, stderr)
	}
	got, kinds, format, err := readCaptureFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if format != "native" {
		t.Errorf("format %q", format)
	}
	if !bytes.Equal(got, sent) {
		t.Errorf("capture holds %d bytes, %d were sent (or they differ)", len(got), len(sent))
	}
	if !slices.Equal(kinds, []replay.Kind{replay.KindOpen, replay.KindData, replay.KindClose}) {
		t.Errorf("record kinds %v", kinds)
	}
}

// readCaptureFile returns the bytes a capture's records hold, the kinds of
// its runs of records and its format; an error also for any damage.
func readCaptureFile(path string) (got []byte, kinds []replay.Kind, format string, err error) {
	rd, dmg, err := replay.OpenCapture(path, replay.OpenOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, "", err
	}
	defer rd.Close()
	if len(dmg) != 0 {
		return nil, nil, "", fmt.Errorf("%s: damage %v", path, dmg)
	}
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		if len(kinds) == 0 || kinds[len(kinds)-1] != rec.Kind {
			kinds = append(kinds, rec.Kind)
		}
		got = append(got, rec.Bytes...)
	}
	return got, kinds, rd.Header().Format, nil
}

// TestRecordEndsWhenRecorderFails: once its recorder stops on a write
// error (here the directory removed under it, so the next rotation cannot
// create a file), `tickd record` exits with that error instead of reading
// on a feed it records nothing of, and its summary line says the capture
// is incomplete, at error level, with the bytes the files hold (none: they
// were removed), not the feed's bytes as if written.
func TestRecordEndsWhenRecorderFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runRecord(ctx, []string{"-feed-listen", fmt.Sprintf("127.0.0.1:%d", port), "-out", dir,
			"-max-bytes", "4096"}, io.Discard, stderr)
	}()
	var enc feed.NativeEncoder
	c := dialEventually(t, fmt.Sprintf("127.0.0.1:%d", port))
	defer c.Close()
	c.Write(enc.Hello(nil))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if files, _ := filepath.Glob(filepath.Join(dir, "*.cap")); len(files) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no capture file\n%s", stderr)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	var b []byte
	for i := range 1000 { // 40 KB: rotations past -max-bytes
		b = enc.Trade(b, "REC", t0+int64(i), 5e9, 1, tick.SideSell)
	}
	c.Write(b)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "recorder: ") {
			t.Fatalf("record: %v, want the recorder's error\n%s", err, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("record still running 10s after its recorder failed\n%s", stderr)
	}
	lines := logLines(t, stderr.String())
	if n := len(withMessage(lines, "capture written")); n != 0 {
		t.Errorf("%d \"capture written\" lines after a failed write\n%s", n, stderr)
	}
	sum := withMessage(lines, "capture incomplete: a write failed")
	if len(sum) != 1 {
		t.Fatalf("%d \"capture incomplete\" lines, want 1\n%s", len(sum), stderr)
	}
	if l := sum[0]; l["level"] != "error" || l["error"] == nil || l["file_bytes"] != 0.0 || !(l["feed_bytes"].(float64) > 0) {
		t.Errorf("summary %v: want level error, the error, file_bytes 0 and the feed's bytes apart", l)
	}
}

// TestReplaySaysNoneKept: a replay whose -from/-to window or -symbols let
// no event through says so, with the span of the inputs' event times,
// rather than ending with a summary of nothing.
func TestReplaySaysNoneKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.csv")
	if err := os.WriteFile(path, []byte("2026-01-02T14:30:02Z,AAA,100.5,100,B\n2026-01-02T14:30:03.5Z,AAA,100.5,100,B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const none = "tickd replay: no event passed -from, -to and -symbols (the inputs' events run from 2026-01-02T14:30:02Z to 2026-01-02T14:30:03.5Z)"
	for _, c := range []struct {
		args []string
		none bool
	}{
		{[]string{"-to", "2026-01-02T14:30:00Z"}, true},
		{[]string{"-from", "2026-01-02T15:00:00Z"}, true},
		{[]string{"-symbols", "AAB"}, true},
		{[]string{"-from", "2026-01-02T14:30:03Z", "-symbols", "AAA"}, false},
	} {
		var stdout bytes.Buffer
		args := append([]string{path, "-speed", "max", "-nats-listen", "off", "-progress", "off"}, c.args...)
		if err := runReplay(context.Background(), args, &stdout, io.Discard); err != nil {
			t.Fatalf("replay %v: %v", c.args, err)
		}
		if got := strings.Contains(stdout.String(), none); got != c.none {
			t.Errorf("replay %v: says none passed %v, want %v:\n%s", c.args, got, c.none, stdout.String())
		}
	}
}

func TestReplayFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"x.itch", "-speed", "0"},
		{"x.itch", "-speed", "fast"},
		{"x.itch", "-from", "yesterday"},
		{"x.itch", "-kind", "capture"},
	} {
		var stderr bytes.Buffer
		if err := runReplay(context.Background(), args, io.Discard, &stderr); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// -fused is serve's only: a capture's connections replay at once.
	var stderr bytes.Buffer
	if err := runReplay(context.Background(), []string{"x.itch", "-fused"}, io.Discard, &stderr); err == nil ||
		!strings.Contains(stderr.String(), "not defined: -fused") {
		t.Errorf("replay -fused: %v\n%s", err, stderr.String())
	}
	// Refused up front, each with a pointer to what works.
	dir := t.TempDir()
	itchFile := filepath.Join(dir, "day.itch")
	if err := os.WriteFile(itchFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	csvFile := filepath.Join(dir, "day.csv")
	if err := os.WriteFile(csvFile, []byte("2026-01-02T14:30:02Z,AAA,100.5,100,B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"x.itch", "-exchange", "mold://127.0.0.1:1", "-paused"}, "-paused does not apply"},
		// An exchange runs no engine and no NATS: their flags would do nothing.
		{[]string{itchFile, "-exchange", "mold://127.0.0.1:1", "-linger", "0s", "-hold", "-metrics", "127.0.0.1:0"},
			"-hold, -metrics: not with -exchange, which runs no engine and no NATS: it re-serves the inputs' bytes (-linger keeps"},
		{[]string{dir, "-speed", "max"}, "is a directory: give the files in it (a recorder's: " + filepath.Join(dir, "*.cap")},
		{[]string{itchFile, "-from", "2019-12-30T15:00:00Z"}, "give -itch-date YYYY-MM-DD, or HH:MM[:SS]"},
		{[]string{itchFile, "-to", "2019-12-30T15:00:00Z"}, "give -itch-date YYYY-MM-DD, or HH:MM[:SS]"},
		// A time of day is an ITCH session's: on other input it would be 1970.
		{[]string{csvFile, "-from", "14:30"}, `from "14:30": a time of day is an ITCH session time, and no input is ITCH: give RFC 3339`},
		{[]string{csvFile, "-to", "14:30:05.5"}, `to "14:30:05.5": a time of day is an ITCH session time`},
	} {
		err := runReplay(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("replay %q: %v, want an error saying %q", c.args, err, c.want)
		}
	}
	if v, err := parseWhen("09:30", time.Time{}); err != nil || v != 9*3600e9+30*60e9 {
		t.Errorf("parseWhen 09:30 = %d, %v", v, err)
	}
	if v, err := parseSpeed("2.5x"); err != nil || v != 2.5 {
		t.Errorf("parseSpeed = %v, %v", v, err)
	}
}

// TestReplayInProcessNATS: with -nats-listen off no client reaches the
// control subject, so -paused is refused rather than waiting for a resume
// that cannot come (and -hold, holding what no client can read), and the
// start line offers no `nats req` to steer it.
func TestReplayInProcessNATS(t *testing.T) {
	ticks := filepath.Join(t.TempDir(), "ticks.csv")
	if err := os.WriteFile(ticks, []byte("1767364200000000000,AAPL,189.25,100,B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a paused replay would wait this out
	defer cancel()
	for _, flag := range []string{"-paused", "-hold"} {
		err := runReplay(ctx, []string{ticks, flag, "-nats-listen", "off"}, io.Discard, io.Discard)
		if want := flag + ": with -nats-listen off"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("replay %s -nats-listen off: %v, want an error saying %q", flag, err, want)
		}
	}
	var stderr syncBuffer
	if err := runReplay(ctx, []string{ticks, "-speed", "max", "-nats-listen", "off"}, io.Discard, &stderr); err != nil ||
		!strings.Contains(stderr.String(), "NATS embedded, in-process only\n") || strings.Contains(stderr.String(), "nats req") {
		t.Errorf("replay -nats-listen off: %v; want no control hint in\n%s", err, stderr.String())
	}
}

// TestRecordITCHReplay records an ITCH session over SoupBinTCP with `tickd
// record`, rotating its files (each but the first without the stock
// directory), replays them, and checks they publish exactly what a replay
// of the same session as a NASDAQ file publishes.
func TestRecordITCHReplay(t *testing.T) {
	t.Setenv("TICKD_SOUPBIN_USERNAME", "rec")
	t.Setenv("TICKD_SOUPBIN_PASSWORD", "pw")
	t.Setenv("TICKD_SOUPBIN_SESSION", "REC")
	dir := t.TempDir()
	gen := []string{"-count", "4000", "-seed", "5", "-symbols", "4", "-live-orders", "500", "-rate", "60000"}
	file := filepath.Join(dir, "day.itch")
	var errb bytes.Buffer
	if err := runGen(context.Background(), append([]string{"-format", "itch", "-out", file, "-unpaced"}, gen...), io.Discard, &errb); err != nil {
		t.Fatalf("gen: %v\n%s", err, errb.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var genErr lineWatcher
	genDone := make(chan error, 1)
	go func() {
		genDone <- runGen(ctx, append([]string{"-format", "itch", "-to", "soupbin://127.0.0.1:0", "-linger", "800ms"}, gen...), io.Discard, &genErr)
	}()
	addr := genErr.wait(t, regexp.MustCompile(`soupbin listening on (\S+)`))
	capDir := filepath.Join(dir, "cap")
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	recErr := &syncBuffer{}
	recDone := make(chan error, 1)
	go func() {
		recDone <- runRecord(rctx, []string{"-feed-format", "itch", "-feed-dial", "soupbin://" + addr, "-out", capDir, "-max-bytes", "20000"}, io.Discard, recErr)
	}()
	if err := <-genDone; err != nil {
		t.Fatalf("gen: %v\n%s", err, genErr.String())
	}
	rcancel()
	if err := <-recDone; err != nil {
		t.Fatalf("record: %v\n%s", err, recErr)
	}
	caps, _ := filepath.Glob(filepath.Join(capDir, "*.cap"))
	if len(caps) < 3 {
		t.Fatalf("captures %v: want the session rotated into several files\n%s", caps, recErr)
	}
	var runs [2]*collector
	for i, in := range [][]string{caps, {file}} {
		r := startReplay(t, append(slices.Clone(in), "-speed", "max", "-bars", "1s")...)
		r.control("resume")
		sum := r.summary()
		r.finish(sum)
		if sum[1] < 4000 || sum[4] == 0 {
			t.Fatalf("%s: summary %v", in, sum)
		}
		runs[i] = r.col
	}
	mapsEqual(t, "capture vs file", runs[1].by, runs[0].by)
}

// TestReplayReportsDamage: every damaged block of a capture is logged
// with its offset, however many come in a second, and the summary counts
// them and the rejected lines.
func TestReplayReportsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.cap")
	w, err := replay.Create(path, replay.WriterOptions{Format: "csv", BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	w.Open(1, "tail")
	for i := range 3000 {
		w.Data(1, int64(i+1)*1e6, feed.AppendCSV(nil, int64(i+1)*1e6, "DMG", 10e9, int64(i+1), tick.SideBuy))
	}
	for i := range 5 { // one logged, four left out by the rate limit and summed at the end
		w.Data(1, 3001e6+int64(i), []byte("not a tick\n"))
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{len(b) / 4, len(b) / 2, 3 * len(b) / 4} {
		b[at] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := startReplay(t, path, "-speed", "max")
	r.control("resume")
	r.finish(r.summary())
	if !strings.Contains(r.stdout.String(), "not played: 3 damaged capture blocks, 5 rejected messages") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr.String(), `"message":"reports suppressed"`) {
		t.Errorf("the rejections the rate limit left out are not summed up:\n%s", r.stderr)
	}
	// The file was played to its end: its source has ended, not "still running".
	if strings.Contains(r.stderr.String(), `"source_ended":false`) || !strings.Contains(r.stderr.String(), `"source_ended":true`) {
		t.Errorf("a played input's suppressed reports are not marked source_ended:\n%s", r.stderr)
	}
	offsets := map[string]bool{}
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.Contains(l, "damaged capture block not played") {
			offsets[regexp.MustCompile(`"offset":\d+`).FindString(l)] = true
		}
	}
	if len(offsets) != 3 {
		t.Errorf("damage logged at %v, want 3 offsets\n%s", offsets, r.stderr)
	}
}

// TestReplayExchangeTCP re-serves a native capture over TCP: the listener
// receives exactly the recorded bytes, one connection per recorded source.
func TestReplayExchangeTCP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.cap")
	w, err := replay.Create(path, replay.WriterOptions{Format: "native"})
	if err != nil {
		t.Fatal(err)
	}
	var streams [2][]byte
	for i := range streams {
		var enc feed.NativeEncoder
		streams[i] = enc.Hello(nil)
		for j := range 2000 {
			streams[i] = enc.Trade(streams[i], fmt.Sprintf("S%d", i), t0+int64(j), 1e9, int64(j+1), tick.SideBuy)
		}
		w.Open(uint16(i+1), fmt.Sprintf("tcp %d", i))
	}
	for off := 0; off < len(streams[0]); off += 1000 {
		for i := range streams {
			w.Data(uint16(i+1), t0+int64(off), streams[i][off:min(off+1000, len(streams[i]))])
		}
	}
	w.Close(1, t0+1e9)
	w.Close(2, t0+1e9)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 2)
	go func() {
		for range 2 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				got <- b
			}()
		}
	}()
	var out bytes.Buffer
	if err := runReplay(context.Background(), []string{path, "-speed", "max", "-exchange", "tcp://" + ln.Addr().String(), "-progress", "off"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b := <-got
		if !bytes.Equal(b, streams[0]) && !bytes.Equal(b, streams[1]) {
			t.Fatalf("a connection got %d bytes that are neither recorded stream", len(b))
		}
	}
	if !strings.Contains(out.String(), "re-served to tcp://") {
		t.Errorf("summary: %s", out.String())
	}
}

// TestReplayExchangeITCH re-serves an ITCH file over SoupBinTCP and over
// MoldUDP64 (losing packets, recovered by rewind) and records it back with
// `tickd record`: the capture holds every message, in order.
func TestReplayExchangeITCH(t *testing.T) {
	t.Setenv("TICKD_SOUPBIN_USERNAME", "x")
	t.Setenv("TICKD_SOUPBIN_PASSWORD", "y")
	t.Setenv("TICKD_SOUPBIN_SESSION", "Z")
	dir := t.TempDir()
	msgs := itchFile(t, "-count", "2000", "-seed", "9", "-symbols", "3")
	var file []byte
	for _, m := range msgs {
		file = itch.AppendFramed(file, m)
	}
	path := filepath.Join(dir, "day.itch")
	os.WriteFile(path, file, 0o600)
	line, rewind := freeUDP(t), freeUDP(t)
	for _, tc := range []struct {
		name     string
		exchange []string
		feed     string // "" : from the exchange's stderr (soupbin port 0)
	}{
		{"soupbin", []string{"-exchange", "soupbin://127.0.0.1:0"}, ""},
		{"mold", []string{"-exchange", "mold://" + line, "-rewind", rewind, "-mold-session", "RPL", "-drop", "0.05"},
			fmt.Sprintf("mold://%s?rewind=%s&session=RPL&seq=1", line, rewind)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			capDir := filepath.Join(dir, tc.name)
			rctx, rcancel := context.WithCancel(ctx)
			defer rcancel()
			recDone := make(chan error, 1)
			record := func(feedURL string) {
				go func() {
					recDone <- runRecord(rctx, []string{"-feed-format", "itch", "-feed-dial", feedURL, "-out", capDir, "-log-level", "error"}, io.Discard, io.Discard)
				}()
			}
			if tc.feed != "" {
				record(tc.feed) // the receiver is bound before the exchange sends
				time.Sleep(50 * time.Millisecond)
			}
			var exErr lineWatcher
			exDone := make(chan error, 1)
			go func() {
				exDone <- runReplay(ctx, append([]string{path, "-speed", "max", "-linger", "800ms", "-progress", "off"}, tc.exchange...), io.Discard, &exErr)
			}()
			if tc.feed == "" {
				record("soupbin://" + exErr.wait(t, regexp.MustCompile(`(?m)^tickd replay: soupbin listening on (\S+)`))) // (not gen's name)
			}
			if err := <-exDone; err != nil {
				t.Fatalf("replay -exchange: %v\n%s", err, exErr.String())
			}
			rcancel()
			if err := <-recDone; err != nil {
				t.Fatal(err)
			}
			caps, _ := filepath.Glob(filepath.Join(capDir, "*.cap"))
			if len(caps) != 1 {
				t.Fatalf("captures %v", caps)
			}
			rd, _, err := replay.OpenCapture(caps[0], replay.OpenOptions{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			var got [][]byte
			for {
				rec, err := rd.Next()
				if err != nil {
					break
				}
				if rec.Kind == replay.KindData {
					got = append(got, bytes.Clone(rec.Bytes))
				}
			}
			if len(got) != len(msgs) {
				t.Fatalf("recorded %d messages, the file has %d", len(got), len(msgs))
			}
			for i := range msgs {
				if !bytes.Equal(got[i], msgs[i]) {
					t.Fatalf("message %d differs", i+1)
				}
			}
		})
	}
}

// TestProgressLineTimes: the progress line gives an ITCH session without a
// date as a time of day, and a full event time with its date, in UTC.
func TestProgressLineTimes(t *testing.T) {
	pr := replay.Progress{Inputs: 1, Messages: 8, Pos: int64(7*time.Hour + 9371*time.Millisecond)}
	if got := progressLine(pr, 0, false); !strings.Contains(got, ", at 07:00:09.371 of the day") || strings.Contains(got, "1970") {
		t.Errorf("time of day: %q", got)
	}
	pr.Pos = time.Date(2019, 12, 30, 14, 30, 0, 0, time.UTC).UnixNano()
	if got := progressLine(pr, 0, false); !strings.Contains(got, ", at 2019-12-30 14:30:00.000 UTC") {
		t.Errorf("full time: %q", got)
	}
}

// TestReplayJetStreamWaits: a replay at full speed into JetStream, far
// ahead of its acknowledgements (-js-max-pending 2), waits for them
// instead of dropping signals: every one is published and stored.
func TestReplayJetStreamWaits(t *testing.T) {
	dir := t.TempDir()
	var b []byte
	ts := int64(1_800_000_000_000_000_000)
	for i := range 2000 { // 99 then 101 per pair: one "up" signal each
		sym := fmt.Sprintf("S%d", i%12)
		b = feed.AppendCSV(b, ts, sym, px("99"), 1, tick.SideBuy)
		b = feed.AppendCSV(b, ts+1, sym, px("101"), 1, tick.SideBuy)
		ts += 2
	}
	path := filepath.Join(dir, "ticks.csv")
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rules, []byte("bars: [1m]\nrules:\n  - {id: up, type: price, dir: up, level: \"100\", hysteresis: 0.5}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := runReplay(context.Background(), []string{path, "-config", rules, "-speed", "max", "-progress", "off", "-nats-listen", "off",
		"-jetstream", "-js-store", filepath.Join(dir, "js"), "-js-max-pending", "2"}, &out, &errOut)
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String()+errOut.String(), " 2000 signals") {
		t.Fatalf("summary: %s%s", out.String(), errOut.String())
	}
}

// TestReplayReportsOutOfOrder: inputs that are not one timeline (here the
// second file is earlier than the first, as two ITCH days under one
// -itch-date are) have their late trades applied at each symbol's last
// time; the summary says how many, rather than nothing.
func TestReplayReportsOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	day := func(name string, start int64) string {
		var b []byte
		for i := range int64(10) {
			b = feed.AppendCSV(b, start+i*1e6, "LATE", 10e9, 100, tick.SideBuy)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	first, second := day("a.csv", 2e18), day("b.csv", 1e18)
	var stdout, stderr syncBuffer
	if err := runReplay(context.Background(), []string{first, second, "-speed", "max", "-nats-listen", "off"}, &stdout, &stderr); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "tickd replay: 10 trades earlier than their symbol's last, applied at its time") {
		t.Errorf("summary does not count the 10 late trades:\n%s", stdout.String())
	}
}

// TestReplayExchangeMoldHeartbeats: a quiet stretch of a re-served ITCH
// file sends a MoldUDP64 heartbeat each second of it, as gen does, so that
// receivers tell the quiet line from a dead one (-feed-stale) and learn of
// a lost last packet before the next one.
func TestReplayExchangeMoldHeartbeats(t *testing.T) {
	line, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	var file []byte
	for _, ts := range []time.Duration{9 * time.Hour, 9*time.Hour + 2500*time.Millisecond} {
		file = itch.AppendFramed(file, itch.AppendSystemEvent(nil, itch.SystemEvent{Header: itch.Header{Timestamp: uint64(ts)}, EventCode: 'O'}))
	}
	path := filepath.Join(t.TempDir(), "quiet.itch")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	args := []string{path, "-speed", "1", "-exchange", "mold://" + line.LocalAddr().String(), "-mold-session", "HB", "-linger", "0s", "-progress", "off"}
	if err := runReplay(context.Background(), args, io.Discard, &stderr); err != nil {
		t.Fatalf("replay -exchange: %v\n%s", err, stderr.String())
	}
	got := moldPackets(t, line)
	// The first message, a heartbeat after each of the two whole seconds
	// of the wait, the second message, the end of session.
	if fmt.Sprint(got) != "[1+1 2+0 2+0 2+1 3+65535]" {
		t.Fatalf("packets %v, want the first message, two heartbeats announcing 2, the second message, the end", got)
	}
}

// TestReplayExchangeRefusesInputs: an input the exchange cannot re-serve
// is refused before anything is served, naming the file and the transport
// that takes it, not once the inputs before it have played (an ITCH day
// at -speed 1 takes the day) or after the server's -linger.
func TestReplayExchangeRefusesInputs(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "native.cap")
	w, err := replay.Create(capture, replay.WriterOptions{Format: "native"})
	if err != nil {
		t.Fatal(err)
	}
	var enc feed.NativeEncoder
	w.Open(1, "tcp 1")
	w.Data(1, t0, enc.Trade(enc.Hello(nil), "S", t0, 1e9, 1, tick.SideBuy))
	w.Close(1, t0+1)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	day := filepath.Join(dir, "day.itch")
	msg := itch.AppendSystemEvent(nil, itch.SystemEvent{Header: itch.Header{Timestamp: uint64(9 * time.Hour)}, EventCode: 'O'})
	if err := os.WriteFile(day, itch.AppendFramed(nil, msg), 0o600); err != nil {
		t.Fatal(err)
	}
	ticks := filepath.Join(dir, "ticks.csv")
	if err := os.WriteFile(ticks, []byte("2026-01-02T14:30:02Z,AAA,100.5,100,B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // takes the native capture's connection, were it served
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcp := "tcp://" + ln.Addr().String()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{capture, day, "-exchange", tcp}, "exchange: " + day + " holds ITCH: re-serve it over soupbin:// or mold://"},
		{[]string{day, capture, "-exchange", "soupbin://127.0.0.1:0", "-linger", "0s"}, "exchange: " + capture + " is a native capture: re-serve it over tcp://"},
		{[]string{ticks, "-exchange", "mold://127.0.0.1:1", "-linger", "0s"}, "exchange: " + ticks + " is a csv tick file: only captures and ITCH files are re-served"},
	} {
		var stdout, stderr syncBuffer
		err := runReplay(context.Background(), append(c.args, "-speed", "max", "-progress", "off"), &stdout, &stderr)
		if err == nil || err.Error() != c.want {
			t.Errorf("replay %q: %v, want %q", c.args, err, c.want)
		}
		if out := stdout.String() + stderr.String(); out != "" {
			t.Errorf("replay %q served before refusing:\n%s", c.args, out)
		}
	}
}

// TestReplayExchangeInterruptedCounts: a replay interrupted while it waits
// for a message's time counts the messages it served, not the one it was
// waiting to send: the summary says where the session stopped.
func TestReplayExchangeInterruptedCounts(t *testing.T) {
	line, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	var file []byte
	for _, ts := range []time.Duration{9 * time.Hour, 10 * time.Hour} {
		file = itch.AppendFramed(file, itch.AppendSystemEvent(nil, itch.SystemEvent{Header: itch.Header{Timestamp: uint64(ts)}, EventCode: 'O'}))
	}
	path := filepath.Join(t.TempDir(), "hour.itch")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runReplay(ctx, []string{path, "-speed", "1", "-exchange", "mold://" + line.LocalAddr().String(), "-linger", "0s", "-progress", "off"}, &stdout, &stderr)
	}()
	buf := make([]byte, 1500)
	line.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := line.Read(buf); err != nil { // the first message: the replay now waits an hour for the second
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	if got := stdout.String(); !strings.HasPrefix(got, "tickd replay: 1 messages (12 B) re-served") {
		t.Errorf("summary %q, want 1 message served", got)
	}
}

// TestReplayExchangeInterruptedEndsSoupbinSession: a SoupBinTCP exchange
// interrupted mid-session (SIGINT) ends the session for its clients, as
// MoldUDP64's end marker does, instead of dropping them: a dropped client
// takes it for a lost link and reconnects to the gone exchange for ever.
func TestReplayExchangeInterruptedEndsSoupbinSession(t *testing.T) {
	t.Setenv("TICKD_SOUPBIN_USERNAME", "x")
	t.Setenv("TICKD_SOUPBIN_PASSWORD", "y")
	t.Setenv("TICKD_SOUPBIN_SESSION", "Z")
	var file []byte
	for _, ts := range []time.Duration{9 * time.Hour, 10 * time.Hour} {
		file = itch.AppendFramed(file, itch.AppendSystemEvent(nil, itch.SystemEvent{Header: itch.Header{Timestamp: uint64(ts)}, EventCode: 'O'}))
	}
	path := filepath.Join(t.TempDir(), "hour.itch")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var exErr lineWatcher
	done := make(chan error, 1)
	go func() {
		done <- runReplay(ctx, []string{path, "-speed", "1", "-exchange", "soupbin://127.0.0.1:0", "-progress", "off"}, io.Discard, &exErr)
	}()
	addr := exErr.wait(t, regexp.MustCompile(`soupbin listening on (\S+)`))
	cl, err := soupbin.NewClient(soupbin.Options{Addr: addr, Credentials: soupbin.Credentials{Username: "x", Password: "y", Session: "Z"}, Sequence: 1})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := 0
	err = cl.Run(cctx, func(uint64, []byte) {
		got++
		interrupt() // the first message is served; the second is an hour away
	})
	if !errors.Is(err, soupbin.ErrEndOfSession) || got != 1 {
		t.Errorf("client: Run = %v after %d messages, want the end of session after 1", err, got)
	}
	if err := <-done; err != nil {
		t.Fatalf("replay: %v\n%s", err, exErr.String())
	}
}

// TestReplayHelpGivesItsLogLevel: replay logs warnings and errors unless
// told otherwise (its progress and summary say the rest), and its -h
// gives that default, not serve's info.
func TestReplayHelpGivesItsLogLevel(t *testing.T) {
	var help syncBuffer
	if err := runReplay(context.Background(), []string{"-h"}, io.Discard, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("replay -h: %v", err)
	}
	if !strings.Contains(help.String(), `log level: debug, info, warn, error (default "warn")`) {
		t.Errorf("replay -h does not give -log-level's default as warn:\n%s", help.String())
	}
}

// TestExchangeLogsWhatItDidNotServe: an ITCH file cut short, re-served as
// an exchange, is counted as not played, "see the log", and the log says
// where and why, as when it is played through the engine.
func TestExchangeLogsWhatItDidNotServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.itch")
	msg := itch.AppendFramed(nil, itch.AppendSystemEvent(nil, itch.SystemEvent{Header: itch.Header{Timestamp: 1}, EventCode: 'O'}))
	if err := os.WriteFile(path, append(msg, msg[:5]...), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, stderr syncBuffer
	args := []string{path, "-speed", "max", "-exchange", "soupbin://127.0.0.1:0", "-linger", "0s", "-progress", "off"}
	if err := runReplay(context.Background(), args, &out, &stderr); err != nil {
		t.Fatalf("replay -exchange: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(out.String(), "1 rejected messages (see the log)") {
		t.Errorf("summary does not count the cut:\n%s", out.String())
	}
	var logged []map[string]any
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "{") {
			logged = append(logged, logLines(t, l)...)
		}
	}
	if got := withMessage(logged, "file cut short, source closed"); len(got) != 1 || got[0]["source"] != path {
		t.Errorf("want the cut logged for %s, log:\n%s", path, stderr.String())
	}
}
