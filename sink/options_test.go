package sink

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/bus"
)

func TestNewValidatesOptions(t *testing.T) {
	st, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{BatchSize: -1}, "batch size"},
		{Options{BatchSize: 100, MaxBuffer: 10}, "smaller than a batch"},
		{Options{BatchSize: 100, MaxBuffer: 99}, "smaller than a batch"},
		{Options{FlushInterval: -1}, "negative"},
		{Options{RetryMin: 10, RetryMax: 5}, "retry max"},
	} {
		if _, err := New(st, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sink: ") {
			t.Errorf("%+v: err = %v, want %q", tc.opts, err, tc.want)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("nil store accepted")
	}
	// The edges of what is valid: a buffer of one batch, a fixed retry delay.
	for _, o := range []Options{{BatchSize: 100, MaxBuffer: 100}, {RetryMin: time.Second, RetryMax: time.Second}} {
		if _, err := New(st, o); err != nil {
			t.Errorf("%+v: %v, want accepted", o, err)
		}
	}
	s, err := New(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.opts; o.BatchSize != DefaultBatchSize || o.MaxBuffer != DefaultMaxBuffer || o.FlushInterval != DefaultFlushInterval {
		t.Errorf("defaults not applied: %+v", o)
	}
}

// TestOfferCounts: invalid payloads and other kinds are
// counted, not buffered; a full buffer drops and counts.
func TestOfferCounts(t *testing.T) {
	st, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(st, Options{BatchSize: 2, MaxBuffer: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs("p", 1, 5) {
		s.Offer(m)
	}
	s.Offer(&bus.DecodeError{Subject: "tickd.signal.X.r", Err: errors.New("bad")})
	s.Offer(&bus.Stats{Publisher: "p", Seq: 9})
	c := s.Counters()
	if c.Received != 5 || c.Buffered != 3 || c.Overflow != 2 || c.Invalid != 1 || c.Skipped != 1 {
		t.Fatalf("counters %+v", c)
	}
	// Run writes what is buffered once its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if c := s.Counters(); c.Written != 3 || c.Buffered != 0 {
		t.Fatalf("after Run: %+v", c)
	}
}

// TestFullBatchWrittenAtOnce: BatchSize rows buffered are written without
// waiting for FlushInterval (an hour here).
func TestFullBatchWrittenAtOnce(t *testing.T) {
	st, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(st, Options{BatchSize: 2, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	for _, m := range msgs("p", 1, 2) {
		s.Offer(m)
	}
	waitFor(t, "a full batch written", func() bool { return s.Counters().Written == 2 })
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}
