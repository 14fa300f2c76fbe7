package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/bus"
)

// failedWrite returns the error of a real TCP write that failed, as
// nats.go's flusher hands it to the connection's async error handler.
func failedWrite(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, err = c.Write([]byte("PUB x 1\r\n1\r\n"))
	if !bus.IsWriteLoss(err) {
		t.Fatalf("write on a closed connection: %v, not a write loss", err)
	}
	return err
}

// TestNATSWriteFailureCounted: serve hands a write its NATS connection's
// flusher failed to the publisher and logs it once. On core NATS the
// publishes it held are lost: publish_errors counts it and the Kafka
// barrier holds offsets back. With -jetstream they are sent again until
// stored: nothing is counted, and the log says so.
func TestNATSWriteFailureCounted(t *testing.T) {
	writeErr := failedWrite(t)
	for _, c := range []struct {
		name   string
		args   []string
		errors uint64
		log    string
	}{
		{"core", nil, 1, "NATS write failed, the publishes it held are lost"},
		{"jetstream", []string{"-jetstream", "-js-store", t.TempDir()}, 0, "NATS write failed: JetStream sends the signals and bars it held again until stored"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			p, logs := shardPipeline(t, ctx, 0, 1, append([]string{"-nats-listen", "127.0.0.1:0"}, c.args...)...)
			defer func() { cancel(); p.Wait() }()    // on a failure too: Wait returns only once cancelled
			p.nc.ErrorHandler()(p.nc, nil, writeErr) // as nats.go's flusher does
			waitUntil(t, "the failed write logged", 15*time.Second, func() bool { return strings.Contains(logs.String(), c.log) })
			if n := strings.Count(logs.String(), "NATS write failed"); n != 1 {
				t.Errorf("the failed write logged %d times, want once:\n%s", n, logs)
			}
			if got := p.pub.Counters(); got.Errors != c.errors || got.WriteFailures != 1 {
				t.Errorf("counters %+v: want %d errors, 1 failed write", got, c.errors)
			}
			err := p.publishedBarrier(ctx)
			if lost := c.errors > 0; lost != (err != nil) {
				t.Errorf("Kafka barrier: %v; want it to fail: %v", err, lost)
			}
		})
	}
}
