package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/tick"
)

// TestLimitedLogBounded: bad input from many short-lived sources (one per
// connection) keeps the limiter's memory bounded, and every source still
// gets its line.
func TestLimitedLogBounded(t *testing.T) {
	var out syncBuffer
	log, err := newLogger(&out, "warn", false)
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitedLog(log, time.Nanosecond)
	bad := errors.New("bad frame")
	for i := range 10 * maxLimitSources {
		l.badInput(fmt.Sprintf("tcp 127.0.0.1:7000<-127.0.0.1:%d", i), 0, 0, bad)
	}
	if n := len(l.sources); n > maxLimitSources {
		t.Fatalf("%d sources remembered, bound %d", n, maxLimitSources)
	}
	if !strings.Contains(out.String(), `"source":"tcp 127.0.0.1:7000<-127.0.0.1:9999"`) {
		t.Fatal("the last source's bad input was not logged")
	}
}

// logLines parses a JSON log, one object per line.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// withMessage returns the lines whose message is msg.
func withMessage(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["message"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// serveLogged runs a feed listener whose reports go through a limitedLog
// (as serve wires it), sends each of conns as one connection, closes it,
// and returns the log once every connection has ended.
func serveLogged(t *testing.T, format feed.Format, conns ...[]byte) string {
	t.Helper()
	var out syncBuffer
	log, err := newLogger(&out, "info", false)
	if err != nil {
		t.Fatal(err)
	}
	reports := newLimitedLog(log, time.Hour) // nothing lapses during the test
	reg := new(feed.Registry)
	l, err := feed.NewTCPListener("127.0.0.1:0", func(string) (feed.Sink, error) {
		return &discardSink{slots: make([]tick.Event, 64)}, nil
	}, feed.Options{Format: format, Symbols: tick.NewSymbolTable(64), Stats: reg,
		OnError: reports.badInput, OnEnd: reports.sourceEnded})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	for i, b := range conns {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c) // until the server closes it
		c.Close()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			if _, ended := reg.Sources(); ended == uint64(i+1) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("connection did not end")
			}
		}
	}
	return out.String()
}

// TestLimitedLogFramingLostAlwaysLogged: a connection that logged a bad
// frame and then loses its framing within the same second gets its
// "framing lost" line (QA: only the metric moved).
func TestLimitedLogFramingLostAlwaysLogged(t *testing.T) {
	var e feed.NativeEncoder
	b := e.Hello(nil)
	b = e.Trade(b, "ORCL", 1, 100e9, 1, 0)
	b = append(b, 9, 0, 99, 3, 0, 0, 0, 0, 0, 0, 0)   // unknown type
	b = append(b, 0x60, 0xea, 3, 0, 0, 0, 0, 0, 0, 0) // length 60000
	lines := logLines(t, serveLogged(t, feed.FormatNative, b))
	bad, lost := withMessage(lines, "bad input skipped"), withMessage(lines, "framing lost, source closed")
	if len(bad) != 1 || bad[0]["reason"] != "unknown_type" || len(lost) != 1 || lost[0]["reason"] != "frame_too_large" ||
		lost[0]["level"] != "error" || !strings.Contains(lost[0]["error"].(string), "exceeds MaxFrame") {
		t.Fatalf("log:\n%v", lines)
	}
}

// TestLimitedLogSummaryAtSourceEnd: a connection that sends 20 bad lines
// and closes logs the first and, when it ends, how many more it left out,
// by reason (QA: 19 were never mentioned).
func TestLimitedLogSummaryAtSourceEnd(t *testing.T) {
	var b []byte
	for i := range 20 {
		if i%2 == 0 {
			b = append(b, "1767364200000000000,AAPL,NaN,100\n"...)
		} else {
			b = append(b, "1767364200000000000,AAPL,1.5,0\n"...)
		}
	}
	lines := logLines(t, serveLogged(t, feed.FormatCSV, b))
	bad, sum := withMessage(lines, "bad input skipped"), withMessage(lines, "reports suppressed")
	if len(bad) != 1 || len(sum) != 1 || sum[0]["suppressed"] != 19.0 || sum[0]["source_ended"] != true ||
		sum[0]["source"] != bad[0]["source"] {
		t.Fatalf("log:\n%v", lines)
	}
	by := sum[0]["suppressed_by_reason"].(map[string]any)
	if by["price_not_finite"] != 9.0 || by["bad_qty"] != 10.0 {
		t.Fatalf("by reason %v", by)
	}
}

// TestLimitedLogMessagesAndFlush: reports that are not bad input have
// their own messages and limits; flushSuppressed (process exit) logs what
// is still left out.
func TestLimitedLogMessagesAndFlush(t *testing.T) {
	var out syncBuffer
	log, err := newLogger(&out, "info", false)
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitedLog(log, time.Hour)
	dial := &feed.SourceError{Op: feed.SourceDial, Err: errors.New("feed: dial: connection refused")}
	l.badInput("tcp 127.0.0.1:7000", 0, 0, feed.ReasonBadPrice)
	l.badInput("tcp 127.0.0.1:7000", 0, 0, dial) // its own limit: logged
	l.badInput("tcp 127.0.0.1:7000", 0, 0, dial)
	l.badInput("tcp 127.0.0.1:7000", 0, 0, dial)
	l.badInput("t.csv", 0, 0, &feed.SourceError{Op: feed.SourceTailRead, Err: errors.New("read t.csv: input/output error")})
	l.badInput("t.csv", 0, 0, &feed.SourceError{Op: feed.SourceTailRestart, Err: errors.New("feed: t.csv: truncated to 0 bytes below the 24 read: reading it again from its start")})
	l.badInput("kafka:t", 0, 0, &feed.SourceError{Op: feed.SourceCommit, Err: errors.New("kafka: offsets held back: lost")})
	l.badInput("nats:t", 0, 0, &feed.SourceError{Op: feed.SourceDropped, Err: errors.New("natsfeed: nats:t: slow consumer: 3 messages dropped")})
	l.flushSuppressed(false)
	l.flushSuppressed(false) // nothing left
	lines := logLines(t, out.String())
	want := []string{"bad input skipped", "feed connection failed, retrying", "feed tail read failed, retrying",
		"feed tail restarted at the file's start", "feed offsets not committed", "feed messages dropped, lost", "reports suppressed"}
	if len(lines) != len(want) {
		t.Fatalf("log:\n%v", lines)
	}
	for i, w := range want {
		if lines[i]["message"] != w {
			t.Fatalf("line %d: %v, want %q", i, lines[i], w)
		}
	}
	if s := lines[6]; s["suppressed"] != 2.0 || s["source_ended"] != false || s["suppressed_by_reason"].(map[string]any)["dial"] != 2.0 {
		t.Fatalf("summary %v", s)
	}
}

// TestLogLevel: the four levels, and a clear error for any other value
// (QA: zerolog's "defaulting to NoLevel", then an exit).
func TestLogLevel(t *testing.T) {
	for _, l := range []string{"debug", "info", "warn", "error"} {
		if _, err := newLogger(io.Discard, l, false); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
	for _, l := range []string{"loud", "", "trace", "INFO"} {
		_, err := newLogger(io.Discard, l, false)
		if err == nil || err.Error() != fmt.Sprintf("log-level %q: want debug, info, warn or error", l) {
			t.Errorf("%q: %v", l, err)
		}
	}
}

// TestReplayLogsITCHFileEnds: an ITCH file whose framing is lost (not ITCH
// at all, or data after the end-of-session prefix) is logged as framing
// lost, with a reason of the bad-input tables; one cut short (inside a
// message, or inside its gzip stream) as cut short, truncated; a gzip file
// followed by bytes that are not gzip as trailing garbage, not under an
// undocumented "other"; a damaged gzip stream (a checksum that fails, a
// member's header that is not one, deflate data that is not) as corrupt. Each ends the input, so it is logged whatever the
// rate: a message rejected just before it does not hide it.
func TestReplayLogsITCHFileEnds(t *testing.T) {
	dir := t.TempDir()
	var msgs []byte
	for i := range 2000 {
		msgs = itch.AppendFramed(msgs, itch.AppendSystemEvent(nil, itch.SystemEvent{Header: itch.Header{Timestamp: uint64(i + 1)}, EventCode: 'O'}))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(msgs)
	zw.Close()
	badSide := itch.AppendFramed(nil, itch.AppendAddOrder(nil, itch.AddOrder{Header: itch.Header{Locate: 1}, OrderRef: 1, Side: 'Z', Shares: 1,
		Stock: itch.MakeStock("AAA"), Price: 1}))
	files := map[string][]byte{
		"ticks.itch":    []byte("1767364200000000000,AAPL,189.25,100,B\n"),
		"after.itch":    append(itch.AppendFramed(nil, itch.AppendSystemEvent(nil, itch.SystemEvent{EventCode: 'C'})), 0, 0, 1, 2, 3),
		"cut.itch.gz":   gz.Bytes()[:gz.Len()/2],
		"cut.itch":      append(slices.Clone(badSide), badSide[:10]...),
		"after.itch.gz": append(slices.Clone(gz.Bytes()), '\n'),
		"sum.itch.gz":   badChecksum(gz.Bytes()),
		"hdr.itch.gz":   append(slices.Clone(gz.Bytes()), 0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 3, 'x', 'y'),
		"flate.itch.gz": append(slices.Clone(gz.Bytes()[:10]), 0x07, 0), // a final block of the reserved type 3
	}
	want := map[string][2]string{
		"ticks.itch":    {"framing lost, source closed", "frame_too_large"},
		"after.itch":    {"framing lost, source closed", "bad_length"},
		"cut.itch.gz":   {"file cut short, source closed", "truncated"},
		"cut.itch":      {"file cut short, source closed", "truncated"},
		"after.itch.gz": {"bytes after the gzip stream, source closed", "trailing_garbage"},
		"sum.itch.gz":   {"gzip stream corrupt, source closed", "corrupt_gzip"},
		"hdr.itch.gz":   {"gzip stream corrupt, source closed", "corrupt_gzip"},
		"flate.itch.gz": {"gzip stream corrupt, source closed", "corrupt_gzip"},
	}
	for name, b := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr syncBuffer
		if err := runReplay(context.Background(), []string{path, "-speed", "max", "-nats-listen", "off"}, io.Discard, &stderr); err != nil {
			t.Fatalf("replay %s: %v\n%s", name, err, stderr.String())
		}
		var logged []map[string]any
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(l, "{") {
				logged = append(logged, logLines(t, l)...)
			}
		}
		if got := withMessage(logged, want[name][0]); len(got) != 1 || got[0]["reason"] != want[name][1] {
			t.Errorf("replay %s: want one %q line with reason %q, log:\n%s", name, want[name][0], want[name][1], stderr.String())
		}
	}
}

// badChecksum is gzip file gz with its CRC-32 (the trailer's first 4
// bytes) wrong: what it holds decompresses whole, then fails the check.
func badChecksum(gz []byte) []byte {
	b := slices.Clone(gz)
	b[len(b)-8] ^= 0xff
	return b
}

// TestReplayDrainCountsItsInput: replay's "tickd drained" line counts
// what its inputs' decoders rejected (feed_errors) and handed on
// (feed_events, each the engine processed), ITCH and text alike, as
// serve's does for its sources; the summary's "rejected messages" agrees.
func TestReplayDrainCountsItsInput(t *testing.T) {
	dir := t.TempDir()
	h := func(loc uint16) itch.Header { return itch.Header{Locate: loc, Timestamp: 34200e9} }
	var day []byte
	for _, m := range [][]byte{
		itch.AppendStockDirectory(nil, itch.StockDirectory{Header: h(1), Stock: itch.MakeStock("AAA")}),
		itch.AppendAddOrder(nil, itch.AddOrder{Header: h(1), OrderRef: 1, Side: 'B', Shares: 100, Stock: itch.MakeStock("AAA"), Price: 10 * tick.PriceScale}),
		itch.AppendOrderDelete(nil, itch.OrderDelete{Header: h(7), OrderRef: 1}), // locate 7: never announced
		{'Z', 0, 0}, // no ITCH type
	} {
		day = itch.AppendFramed(day, m)
	}
	itchPath, csvPath := filepath.Join(dir, "day.itch"), filepath.Join(dir, "ticks.csv")
	if err := os.WriteFile(itchPath, day, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvPath, []byte("1767364200000000000,AAPL,189.25,100,B\n1767364200000000001,AAPL,abc,100,B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path           string
		errors, events int // events: those the engine processed, its end of stream included
	}{{itchPath, 2, 3}, {csvPath, 1, 2}} {
		var stdout, stderr syncBuffer
		args := []string{c.path, "-speed", "max", "-nats-listen", "off", "-log-level", "info"}
		if err := runReplay(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("replay %s: %v\n%s", c.path, err, stderr.String())
		}
		var logged []map[string]any
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(l, "{") {
				logged = append(logged, logLines(t, l)...)
			}
		}
		d := withMessage(logged, "tickd drained")
		if len(d) != 1 {
			t.Fatalf("replay %s: %d drain lines:\n%s", c.path, len(d), stderr.String())
		}
		if d[0]["feed_errors"] != float64(c.errors) || d[0]["feed_events"] != float64(c.events) || d[0]["events"] != float64(c.events) {
			t.Errorf("replay %s: drained feed_errors %v feed_events %v events %v, want %d, %d and %d",
				c.path, d[0]["feed_errors"], d[0]["feed_events"], d[0]["events"], c.errors, c.events, c.events)
		}
		if want := fmt.Sprintf("%d rejected messages", c.errors); !strings.Contains(stdout.String(), want) {
			t.Errorf("replay %s: summary lacks %q:\n%s", c.path, want, stdout.String())
		}
	}
}

// TestReplayNativeOtherVersion: a native file whose Hello is of another
// format version is not played (its frames may mean something else), and
// the log names the version, as an end of the source.
func TestReplayNativeOtherVersion(t *testing.T) {
	var enc feed.NativeEncoder
	b := enc.Hello(nil)
	for i := range 5 {
		b = enc.Trade(b, "AAPL", 1767364200000000000+int64(i), 189_250_000_000, 100, tick.SideBuy)
	}
	b = enc.End(b, 1767364201000000000)
	b[15] = feed.FormatVersion + 1 // the Hello's version
	path := filepath.Join(t.TempDir(), "v2.native")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	if err := runReplay(context.Background(), []string{path, "-speed", "max", "-nats-listen", "off"}, &stdout, &stderr); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	var logged []map[string]any
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "{") {
			logged = append(logged, logLines(t, l)...)
		}
	}
	got := withMessage(logged, "native format version not read, source closed")
	if len(got) != 1 || got[0]["reason"] != "version" || !strings.Contains(fmt.Sprint(got[0]["error"]), "native format version 2, this decoder reads version 1") {
		t.Errorf("want one 'native format version not read, source closed' line naming version 2, log:\n%s", stderr.String())
	}
	if out := stdout.String() + stderr.String(); !strings.Contains(out, "tickd replay: 1 messages (") {
		t.Errorf("a version-2 file was played beyond its Hello:\n%s", out)
	}
}

// TestLimitedLogQuietSourceFlushed: a burst of bad input, then quiet (a file
// of bad lines read at once), says how much it left out an interval later,
// not only when the source ends: its one logged line must not stand for
// 100000 rejected lines until shutdown. A source still reporting says it on
// its next line instead, and nothing is said twice.
func TestLimitedLogQuietSourceFlushed(t *testing.T) {
	var out syncBuffer
	log, err := newLogger(&out, "info", false)
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitedLog(log, 50*time.Millisecond)
	for range 3 {
		l.badInput("burst.csv", 0, 0, feed.ReasonBadPrice)
	}
	l.badInput("burst.csv", 0, 0, feed.ReasonBadTimestamp)
	waitUntil(t, "the suppressed reports of the quiet source", 10*time.Second, func() bool {
		return strings.Contains(out.String(), "reports suppressed")
	})
	l.flushSuppressed(false) // told already: nothing more
	lines := logLines(t, out.String())
	if len(lines) != 2 || lines[0]["message"] != "bad input skipped" {
		t.Fatalf("log:\n%v", lines)
	}
	s := lines[1]
	by, _ := s["suppressed_by_reason"].(map[string]any)
	if s["message"] != "reports suppressed" || s["source"] != "burst.csv" || s["suppressed"] != 3.0 ||
		s["source_ended"] != false || by["bad_price"] != 2.0 || by["bad_timestamp"] != 1.0 {
		t.Fatalf("summary %v", s)
	}
}

// TestLimitedLogExitStopsQuietTimer: the exit's flushSuppressed says all
// there is to say, so the timer that looks for quiet sources is stopped
// rather than left to fire after it.
func TestLimitedLogExitStopsQuietTimer(t *testing.T) {
	log, err := newLogger(io.Discard, "info", false)
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitedLog(log, time.Hour)
	l.badInput("a.csv", 0, 0, feed.ReasonBadPrice)
	l.badInput("a.csv", 0, 0, feed.ReasonBadPrice) // suppressed: arms the timer
	l.flushSuppressed(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.quiet != nil {
		t.Fatal("the quiet-source timer is still armed after the exit's flush")
	}
}

// TestCaptureFilesBounded: the "capture written" line of a recorder that
// rotated thousands of times names the first and last file and the count,
// not every file (QA: a 5-minute soak ended on a 25 KB line).
func TestCaptureFilesBounded(t *testing.T) {
	var out syncBuffer
	log, err := newLogger(&out, "info", false)
	if err != nil {
		t.Fatal(err)
	}
	files := make([]string, 5000)
	for i := range files {
		files[i] = fmt.Sprintf("rec/tickd-20261125T0008%05d.cap", i)
	}
	captureFiles(log.Info(), files).Msg("capture written")
	captureFiles(log.Info(), files[:2]).Msg("capture written")
	lines := logLines(t, out.String())
	if len(out.String()) > 1024 || len(lines) != 2 {
		t.Fatalf("%d bytes of log:\n%.2000s", len(out.String()), out.String())
	}
	if l := lines[0]; l["file_count"] != 5000.0 || l["first_file"] != files[0] || l["last_file"] != files[4999] || l["files"] != nil {
		t.Fatalf("many files: %v", l)
	}
	if l := lines[1]; l["file_count"] != 2.0 || len(l["files"].([]any)) != 2 {
		t.Fatalf("two files: %v", l)
	}
}

// TestReplayLogsStockMismatch: the line logged for a message whose Stock
// field disagrees with its locate's stock names the locate and both
// stocks, so that a user can tell a spliced file from a stale directory
// without decoding the message by hand.
func TestReplayLogsStockMismatch(t *testing.T) {
	h := itch.Header{Locate: 7, Timestamp: 34200e9}
	var day []byte
	for _, m := range [][]byte{
		itch.AppendStockDirectory(nil, itch.StockDirectory{Header: h, Stock: itch.MakeStock("AAPL")}),
		itch.AppendAddOrder(nil, itch.AddOrder{Header: h, OrderRef: 1, Side: 'B', Shares: 100, Stock: itch.MakeStock("MSFT"), Price: 10 * tick.PriceScale}),
	} {
		day = itch.AppendFramed(day, m)
	}
	path := filepath.Join(t.TempDir(), "day.itch")
	if err := os.WriteFile(path, day, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	if err := runReplay(context.Background(), []string{path, "-speed", "max", "-nats-listen", "off"}, io.Discard, &stderr); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	var logged []map[string]any
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "{") {
			logged = append(logged, logLines(t, l)...)
		}
	}
	bad := withMessage(logged, "bad input skipped")
	if len(bad) != 1 || bad[0]["reason"] != "stock_mismatch" || bad[0]["seq"] != float64(2) {
		t.Fatalf("want one stock_mismatch line for message 2, log:\n%s", stderr.String())
	}
	msg, _ := bad[0]["error"].(string)
	for _, s := range []string{"locate 7", `"MSFT"`, `"AAPL"`} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not name %s", msg, s)
		}
	}
}
