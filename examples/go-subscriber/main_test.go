package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The live end-to-end run (a real engine and publisher, the built binary)
// is in package examples; these run run in process, under -race, for the
// paths the live script does not take.

// startRun starts run against a fresh embedded server and returns a client
// connection to publish on, once run has subscribed.
func startRun(t *testing.T, ctx context.Context, args ...string) (nc *nats.Conn, stdout, stderr *lockedBuffer, done chan error) {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if nc, err = nats.Connect(srv.ClientURL()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	stdout, stderr, done = new(lockedBuffer), new(lockedBuffer), make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-nats-url", srv.ClientURL()}, args...), stdout, stderr) }()
	waitFor(t, done, func() bool { return strings.Contains(stderr.String(), "subscribed to") })
	return nc, stdout, stderr, done
}

// TestInvalidPayloadReported: a payload that is not a tickd record is
// reported on stderr and not counted; the valid signal after it is printed
// with its exact price, and run returns after -count messages.
func TestInvalidPayloadReported(t *testing.T) {
	nc, stdout, stderr, done := startRun(t, context.Background(), "-count", "1")
	if err := nc.Publish("tickd.signal.BRK_A.brk_up", []byte(`{"kind":"signal","price":412.5}`)); err != nil {
		t.Fatal(err)
	}
	syms := tick.NewSymbolTable(4)
	brk, err := syms.Intern("BRK.A")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := bus.NewEncoder("h-1", syms, []bus.RuleInfo{{ID: "brk_up", Type: "price", ValueNames: [3]string{"price"}}})
	if err != nil {
		t.Fatal(err)
	}
	sig := tick.Signal{TsEvent: 1_700_000_000_100_000_000, TsRecv: 1, Symbol: brk, Dir: 1, Price: 412_000_000_001,
		Values: [3]float64{412.000000001}}
	if err := nc.Publish("tickd.signal.BRK_A.brk_up", enc.AppendSignalJSON(nil, 1, 2, &sig)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("run did not return after one message\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	want := "SIGNAL 22:13:20.100000 BRK.A brk_up up price=412.000000001 price=412.000000001\n"
	if stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if !strings.Contains(stderr.String(), `price 412.5 is not a JSON string`) {
		t.Errorf("stderr does not report the invalid payload:\n%s", stderr)
	}
}

// TestCancelStops: with no -count, run returns when its context is done,
// and leaves no delivery goroutine behind (goleak checks).
func TestCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	_, _, _, done := startRun(t, ctx, "-bbo")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not return after cancel")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-count", "x"}, {"extra"}, {"-prefix", "a..b"}} {
		if err := run(context.Background(), args, new(lockedBuffer), new(lockedBuffer)); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

// waitFor polls cond until it holds, failing if run returns first or a
// minute passes (a hang guard).
func waitFor(t *testing.T, done chan error, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
	}
}

// lockedBuffer is written by run while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
