package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/feed/mold"
	"github.com/tickd/tickd/feed/soupbin"
	"github.com/tickd/tickd/tick"
)

// itchFile runs `gen -format itch -out` and returns the file's messages.
func itchFile(t *testing.T, args ...string) [][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.itch")
	var errb bytes.Buffer
	if err := runGen(context.Background(), append([]string{"-format", "itch", "-out", path, "-unpaced"}, args...), io.Discard, &errb); err != nil {
		t.Fatalf("gen: %v\n%s", err, errb.String())
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	fr, err := itch.NewFileReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	for {
		m, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, bytes.Clone(m))
	}
	return msgs
}

func TestGenItchFile(t *testing.T) {
	args := []string{"-count", "20000", "-seed", "5", "-symbols", "8", "-live-orders", "2000"}
	msgs := itchFile(t, args...)
	dec, err := itch.NewDecoder(itch.Options{Symbols: tick.NewSymbolTable(16)})
	if err != nil {
		t.Fatal(err)
	}
	var ev tick.Event
	for i, m := range msgs {
		if _, err := dec.Decode(m, &ev); err != nil {
			t.Fatalf("message %d (%c): %v", i, m[0], err)
		}
	}
	// 20000 order-flow messages, plus S O S Q M E C, 8 R and 8 H T.
	if want := 20000 + 6 + 16; len(msgs) != want {
		t.Errorf("%d messages, want %d", len(msgs), want)
	}
	if m := msgs[0]; m[0] != 'S' || m[11] != 'O' {
		t.Errorf("first message %q, want S O", m)
	}
	if m := msgs[len(msgs)-1]; m[0] != 'S' || m[11] != 'C' {
		t.Errorf("last message %q, want S C", m)
	}
	again := itchFile(t, args...)
	if len(again) != len(msgs) || !bytes.Equal(bytes.Join(again, nil), bytes.Join(msgs, nil)) {
		t.Error("same seed gave a different file")
	}
	other := itchFile(t, "-count", "20000", "-seed", "6", "-symbols", "8", "-live-orders", "2000")
	if bytes.Equal(bytes.Join(other, nil), bytes.Join(msgs, nil)) {
		t.Error("different seeds gave the same file")
	}
}

// TestGenItchSummaryBytes: the byte count gen reports for an ITCH file is
// its messages' bytes, and says so: the file is larger by a 2-byte length
// prefix a message.
func TestGenItchSummaryBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.itch")
	var errb bytes.Buffer
	if err := runGen(context.Background(), []string{"-format", "itch", "-out", path, "-unpaced", "-count", "500"}, io.Discard, &errb); err != nil {
		t.Fatalf("gen: %v\n%s", err, errb.String())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var msgs, n int64
	if _, err := fmt.Sscanf(errb.String(), "tickd gen: %d itch messages (%d bytes, framing aside)", &msgs, &n); err != nil || n != fi.Size()-2*msgs {
		t.Errorf("summary %q (%v): want the messages' bytes, the %d-byte file less 2 a message, and that said", errb.String(), err, fi.Size())
	}
}

// lineWatcher is a stderr that lets the test wait for a line matching a pattern.
type lineWatcher struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *lineWatcher) wait(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(w.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no %v on stderr:\n%s", re, w.String())
	return ""
}

func TestGenItchSoupbin(t *testing.T) {
	args := []string{"-count", "20000", "-seed", "9", "-symbols", "8", "-live-orders", "2000", "-rate", "100000"}
	want := itchFile(t, args...)
	t.Setenv("TICKD_SOUPBIN_USERNAME", "test")
	t.Setenv("TICKD_SOUPBIN_PASSWORD", "secret")
	t.Setenv("TICKD_SOUPBIN_SESSION", "S1")

	var errb lineWatcher
	genDone := make(chan error, 1)
	go func() {
		// Paced at 100k msg/s: the client joins while the session runs.
		genDone <- runGen(context.Background(), append([]string{"-format", "itch", "-to", "soupbin://127.0.0.1:0",
			"-linger", "2s"}, args...), io.Discard, &errb)
	}()
	addr := errb.wait(t, regexp.MustCompile(`soupbin listening on (\S+)`))

	// Wrong credentials are refused.
	bad, err := soupbin.NewClient(soupbin.Options{Addr: addr, Credentials: soupbin.Credentials{Username: "x", Password: "y"}})
	if err != nil {
		t.Fatal(err)
	}
	var rej *soupbin.LoginRejectedError
	if err := bad.Run(context.Background(), func(uint64, []byte) {}); !errors.As(err, &rej) {
		t.Errorf("login with wrong credentials: %v, want rejected", err)
	}

	cl, err := soupbin.NewClient(soupbin.Options{Addr: addr, Sequence: 1, MaxReconnect: 3,
		Credentials: soupbin.Credentials{Username: "test", Password: "secret", Session: "S1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got [][]byte
	err = cl.Run(ctx, func(seq uint64, msg []byte) { got = append(got, bytes.Clone(msg)) })
	if !errors.Is(err, soupbin.ErrEndOfSession) {
		t.Errorf("client: %v, want end of session", err)
	}
	if err := <-genDone; err != nil {
		t.Fatalf("gen: %v\n%s", err, errb.String())
	}
	if len(got) != len(want) || !bytes.Equal(bytes.Join(got, nil), bytes.Join(want, nil)) {
		for i := range min(len(got), len(want)) {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("message %d: got %x want %x", i, got[i], want[i])
				break
			}
		}
		t.Fatalf("soupbin gave %d messages, file %d, or different bytes", len(got), len(want))
	}

}

// freeUDP returns a UDP port on 127.0.0.1 free a moment ago.
func freeUDP(t *testing.T) string {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func TestGenItchMoldDrop(t *testing.T) {
	args := []string{"-count", "10000", "-seed", "11", "-symbols", "8", "-live-orders", "2000", "-rate", "50000"}
	want := itchFile(t, args...)
	rewind := freeUDP(t)
	var gaps uint64
	rcv, err := mold.NewReceiver(mold.ReceiverOptions{Lines: []string{"127.0.0.1:0"}, Session: "TSESS", Next: 1,
		Rewind: rewind, MaxAttempts: 20, OnGap: func(_, n uint64) { gaps += n }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got [][]byte
	rcvDone := make(chan error, 1)
	go func() {
		rcvDone <- rcv.Run(ctx, func(_ uint64, msg []byte) { got = append(got, bytes.Clone(msg)) })
	}()
	var errb lineWatcher
	err = runGen(ctx, append([]string{"-format", "itch", "-to", "mold://" + rcv.Addrs()[0].String(), "-mold-session", "TSESS",
		"-rewind", rewind, "-drop", "0.05", "-linger", "1s"}, args...), io.Discard, &errb)
	if err != nil {
		t.Fatalf("gen: %v\n%s", err, errb.String())
	}
	if err := <-rcvDone; !errors.Is(err, mold.ErrEndOfSession) {
		t.Errorf("receiver: %v, want end of session", err)
	}
	st := rcv.Stats()
	if gaps != 0 || st.Lost != 0 {
		t.Errorf("gave up %d messages (%d in stats)", gaps, st.Lost)
	}
	if st.Requests == 0 {
		t.Error("no retransmission requests: -drop lost nothing?")
	}
	if len(got) != len(want) || !bytes.Equal(bytes.Join(got, nil), bytes.Join(want, nil)) {
		t.Fatalf("mold gave %d messages, file %d, or different bytes", len(got), len(want))
	}
	t.Logf("mold: %d messages, %d packets, %d rewind requests", len(got), st.Packets, st.Requests)
}

func TestGenItchBadTarget(t *testing.T) {
	var errb bytes.Buffer
	if err := runGen(context.Background(), []string{"-format", "itch", "-to", "tcp://127.0.0.1:1"}, io.Discard, &errb); err == nil {
		t.Error("gen accepted -to tcp:// for itch")
	}
	if err := runGen(context.Background(), []string{"-format", "itch", "-to", "mold://127.0.0.1:9", "-drop", "2"}, io.Discard, &errb); err == nil {
		t.Error("gen accepted -drop 2")
	}
}

// TestGenItchDuration checks -duration ends the session after that much
// event time with the closing events, at the default 10000 messages/s.
func TestGenItchDuration(t *testing.T) {
	msgs := itchFile(t, "-duration", "2s", "-symbols", "4")
	if n := len(msgs); n < 15000 || n > 25000 {
		t.Errorf("%d messages in 2 s of event time at 10000/s", n)
	}
	if m := msgs[len(msgs)-1]; m[0] != 'S' || m[11] != 'C' {
		t.Errorf("last message %q, want S C", m)
	}
}

func TestItchCredentials(t *testing.T) {
	c, err := itchCredentials(&itchFlags{})
	if err != nil || c.Username != "tickd" || c.Password != "tickd" || c.Session != "1" {
		t.Errorf("default credentials %v, %v", c, err)
	}
	path := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(path, []byte("username=fileu\npassword=filep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TICKD_SOUPBIN_USERNAME", "envu")
	if c, err = itchCredentials(&itchFlags{creds: path}); err != nil || c.Username != "fileu" || c.Password != "filep" {
		t.Errorf("file credentials %v, %v", c, err)
	}
	if c, err = itchCredentials(&itchFlags{}); err != nil || c.Username != "envu" {
		t.Errorf("env credentials %v, %v", c, err)
	}
}

// TestGenItchMoldHeartbeats: a pause in the session (a low -rate) sends a
// MoldUDP64 heartbeat each second of it, carrying the next sequence.
func TestGenItchMoldHeartbeats(t *testing.T) {
	line, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	ctx := context.Background()
	sink, err := newMoldSink(ctx, "tickd gen", line.LocalAddr().String(), 1, &itchFlags{moldSession: "HB", rewind: "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.finish(ctx)
	if err := sink.add([]byte("m1")); err != nil {
		t.Fatal(err)
	}
	if err := sink.flush(); err != nil {
		t.Fatal(err)
	}
	if err := pause(ctx, sink, 2500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	got := moldPackets(t, line)
	if fmt.Sprint(got) != "[1+1 2+0 2+0]" {
		t.Fatalf("packets %v, want the message then two heartbeats announcing 2", got)
	}
}

// moldPackets reads the MoldUDP64 packets line receives until 200 ms pass
// without one, each as "SEQ+COUNT".
func moldPackets(t *testing.T, line net.Conn) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 1500)
	for line.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); ; {
		n, err := line.Read(buf)
		if err != nil {
			return got
		}
		p, err := mold.Parse(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d+%d", p.Seq, p.Count))
	}
}

// TestGenItchStartIsNewYorkTime: ITCH times count from midnight in New
// York, so -start names an instant and the session's first timestamp is
// that instant's New York time of day, whatever offset -start is written
// in: the default's own RFC 3339 (14:30Z) and 09:30-05:00 are the default
// session's 09:30, not 14:30.
func TestGenItchStartIsNewYorkTime(t *testing.T) {
	first := func(args ...string) int64 {
		msgs := itchFile(t, append([]string{"-count", "10", "-symbols", "2"}, args...)...)
		return int64(itch.View(msgs[0]).Timestamp())
	}
	want := first()
	if want != int64(9*time.Hour+30*time.Minute) {
		t.Fatalf("default session starts %v after midnight, want 9h30m", time.Duration(want))
	}
	for _, start := range []string{"2026-01-02T14:30:00Z", "2026-01-02T09:30:00-05:00", "2026-01-02T15:30:00+01:00"} {
		if got := first("-start", start); got != want {
			t.Errorf("-start %s: first timestamp %v after midnight, want %v (New York)", start, time.Duration(got), time.Duration(want))
		}
	}
}

// TestITCHServerFlagsRefused: gen's and replay's ITCH server flags are
// refused where they would be ignored, naming the flag, the transport it
// applies to and the output given: a -to-b with soupbin:// served no B
// line, a -creds with mold:// or a -drop without -exchange did nothing,
// silently.
func TestITCHServerFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	itchFile := filepath.Join(dir, "day.itch")
	if err := os.WriteFile(itchFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	line := freeUDP(t)
	for _, c := range []struct {
		run  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
		want string
	}{
		{runGen, []string{"-format", "itch", "-to", "soupbin://127.0.0.1:0", "-to-b", "mold://" + line, "-count", "5", "-linger", "0s", "-unpaced"},
			"-to-b (mold:// only) would be ignored with -to soupbin://127.0.0.1:0"},
		{runGen, []string{"-format", "itch", "-to", "mold://" + line, "-creds", filepath.Join(dir, "none"), "-count", "5", "-linger", "0s", "-unpaced"},
			"-creds (soupbin:// only) would be ignored with -to mold://" + line},
		{runGen, []string{"-out", filepath.Join(dir, "ticks.native"), "-linger", "1s", "-rewind", "127.0.0.1:0", "-count", "5"},
			"-linger (soupbin:// and mold:// only), -rewind (mold:// only) would be ignored with -format native"},
		{runReplay, []string{itchFile, "-exchange", "soupbin://127.0.0.1:0", "-mold-session", "X", "-linger", "0s"},
			"-mold-session (mold:// only) would be ignored with -exchange soupbin://127.0.0.1:0"},
		{runReplay, []string{itchFile, "-speed", "max", "-nats-listen", "off", "-drop", "0.1"},
			"-drop (mold:// only) would be ignored without -exchange"},
	} {
		err := c.run(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestGenITCHSummaryLeavesLingerOut: a SoupBinTCP exchange stays up for
// -linger after the session; the summary's time and rate are the run's,
// not the linger's (a run of milliseconds said "written in 3s", its rate a
// fraction of what was sent).
func TestGenITCHSummaryLeavesLingerOut(t *testing.T) {
	const linger = 3 * time.Second
	var stderr syncBuffer
	err := runGen(context.Background(), []string{"-format", "itch", "-to", "soupbin://127.0.0.1:0", "-count", "2000",
		"-unpaced", "-linger", linger.String()}, io.Discard, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	_, took, found := strings.Cut(stderr.String(), ") written in ")
	if !found {
		t.Fatalf("no summary in %q", stderr.String())
	}
	took, _, _ = strings.Cut(took, " ")
	if d, err := time.ParseDuration(took); err != nil || d >= linger {
		t.Errorf("summary says written in %s (%v), want the run's time, less than the %v linger:\n%s", took, err, linger, stderr.String())
	}
}
