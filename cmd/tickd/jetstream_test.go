package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestServeJetStreamReplay serves with -jetstream on the embedded server,
// feeds a sawtooth that fires 3 signals for each of 4 symbols, and replays
// them with `tickd sub`: from the stream's start by time, and from a
// sequence, after the pipeline has stopped publishing: with the ringed
// pipeline, and with -fused, whose publisher sends to JetStream from the
// feed's goroutine.
func TestServeJetStreamReplay(t *testing.T) {
	t.Run("rings", func(t *testing.T) { testServeJetStreamReplay(t) })
	t.Run("fused", func(t *testing.T) { testServeJetStreamReplay(t, "-fused") })
}

func testServeJetStreamReplay(t *testing.T, extra ...string) {
	const nsym, rounds = 4, 3
	before := time.Now().UTC().Add(-time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, logs := shardPipeline(t, ctx, 0, 1, append([]string{"-nats-listen", "127.0.0.1:0", "-jetstream", "-js-store", t.TempDir(),
		"-js-max-age", "1h", "-js-max-msgs-per-subject", "1000"}, extra...)...)
	if fused := len(extra) > 0; !strings.Contains(logs.String(), fmt.Sprintf(`"fused":%v`, fused)) {
		t.Fatalf("the pipeline did not log fused %v:\n%s", fused, logs)
	}
	cn := dialEventually(t, p.FeedAddr().String())
	if _, err := cn.Write(sawtooth(nsym, 0, rounds)); err != nil {
		t.Fatal(err)
	}
	cn.Close()
	waitUntil(t, "every signal stored", 15*time.Second, func() bool {
		return p.pub.Counters().JetStream.Stored >= nsym*rounds
	})
	url := p.srv.ClientURL()

	sub := func(args ...string) []string {
		t.Helper()
		var out, errOut bytes.Buffer
		sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
		defer scancel()
		args = append([]string{"-nats-url", url, "-subject", "tickd.signal.>"}, args...)
		if err := runSub(sctx, args, &out, &errOut); err != nil {
			t.Fatalf("sub %v: %v %s", args, err, errOut.String())
		}
		return strings.Split(strings.TrimSpace(out.String()), "\n")
	}
	all := sub("-js-since", before.Format(time.RFC3339Nano), "-count", "12")
	if len(all) != nsym*rounds {
		t.Fatalf("replayed %d signals, want %d:\n%s\nlog:\n%s", len(all), nsym*rounds, strings.Join(all, "\n"), logs)
	}
	for _, l := range all {
		if !strings.HasPrefix(l, "SIGNAL ") || !strings.Contains(l, "up100") {
			t.Errorf("unexpected line %q", l)
		}
	}
	// The stream holds the signals in the order they were stored: from
	// the signals' sequence 5 on, sub prints the same lines as the full
	// replay's 5th on. (No bar closes within the feed's 0.1 s, so every
	// stored message so far is a signal.)
	if tail := sub("-js-seq", "5", "-count", "8"); strings.Join(tail, "\n") != strings.Join(all[4:], "\n") {
		t.Errorf("replay from seq 5:\n%s\nwant\n%s", strings.Join(tail, "\n"), strings.Join(all[4:], "\n"))
	}
	if _, err := serveDefaults("-shard", "2/2"); err == nil {
		t.Error("-shard 2/2 accepted")
	}
	var errOut bytes.Buffer
	if err := runSub(ctx, []string{"-nats-url", url, "-js-seq", "1", "-queue", "q"}, &bytes.Buffer{}, &errOut); err == nil {
		t.Error("-queue with a replay accepted")
	}
	// -js-stream without a start point would read live messages, not the stream.
	lctx, lcancel := context.WithTimeout(ctx, 2*time.Second)
	defer lcancel()
	if err := runSub(lctx, []string{"-nats-url", url, "-js-stream", "TICKD"}, &bytes.Buffer{}, &errOut); err == nil || !strings.Contains(err.Error(), "-js-stream needs") {
		t.Errorf("-js-stream without -js-since or -js-seq: %v", err)
	}
	cancel()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
}
