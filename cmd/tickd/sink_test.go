package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// TestSinkEndToEnd runs `tickd serve` and `tickd sink -to sqlite:...` over
// real sockets, feeds serve a scripted tick sequence, and reads the signals
// and bars back from the SQLite file.
func TestSinkEndToEnd(t *testing.T) {
	feedPort, natsPort := freePort(t), freePort(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served, serveLog := serveYAML(ctx, t, fmt.Sprintf(`
feed-listen: 127.0.0.1:%d
nats-listen: 127.0.0.1:%d
publisher-id: e2e
bars: [1s]
rules:
  - id: above_100
    type: price
    symbols: [TEST]
    dir: up
    level: "100.00"
`, feedPort, natsPort))
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", natsPort)
	connectNATS(t, natsURL, serveLog).Close()

	dbPath := filepath.Join(dir, "tickd.db")
	sinkCtx, stopSink := context.WithCancel(context.Background())
	defer stopSink()
	sinkLog := &syncBuffer{}
	sunk := make(chan error, 1)
	go func() {
		sunk <- runSink(sinkCtx, []string{"-nats-url", natsURL, "-to", "sqlite:" + dbPath, "-flush", "20ms"}, os.Stdout, sinkLog)
	}()
	waitUntil(t, "the sink to subscribe", 10*time.Second, func() bool { return strings.Contains(sinkLog.String(), "sink: subscribed") })

	var enc feed.NativeEncoder
	b := enc.Hello(nil)
	b = enc.Trade(b, "TEST", ms(100), px("99.50"), 100, tick.SideBuy)
	b = enc.Trade(b, "TEST", ms(200), px("100.25"), 200, tick.SideBuy)  // crosses 100 up: a signal
	b = enc.Trade(b, "TEST", ms(1200), px("99.40"), 300, tick.SideSell) // closes the first 1s bar
	b = enc.End(b, ms(1200))                                            // publishes the open bar
	c := dialEventually(t, fmt.Sprintf("127.0.0.1:%d", feedPort))
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(table string) int {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for count("tickd_signals") < 1 || count("tickd_bars") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("rows: %d signals, %d bars\nsink log:\n%s", count("tickd_signals"), count("tickd_bars"), sinkLog)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var pub, rule, dir2, price, vals string
	var tsEvent int64
	if err := db.QueryRow("SELECT publisher, rule, dir, price, vals, ts_event FROM tickd_signals").
		Scan(&pub, &rule, &dir2, &price, &vals, &tsEvent); err != nil {
		t.Fatal(err)
	}
	if pub != "e2e" || rule != "above_100" || dir2 != "up" || price != "100.25" || tsEvent != ms(200) ||
		!strings.Contains(vals, `"price":100.25`) {
		t.Errorf("signal row: %s %s %s %s %s %d", pub, rule, dir2, price, vals, tsEvent)
	}
	var open, high, closing string
	var volume, n int64
	if err := db.QueryRow("SELECT open, high, close, volume, count FROM tickd_bars WHERE start = ?", t0).
		Scan(&open, &high, &closing, &volume, &n); err != nil {
		t.Fatal(err)
	}
	if open != "99.5" || high != "100.25" || closing != "100.25" || volume != 300 || n != 2 {
		t.Errorf("bar row: %s %s %s %d %d", open, high, closing, volume, n)
	}

	stopSink()
	if err := <-sunk; err != nil {
		t.Fatalf("sink: %v\n%s", err, sinkLog)
	}
	if !strings.Contains(sinkLog.String(), `"written":3`) {
		t.Errorf("stop line does not count 3 rows written:\n%s", sinkLog)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestSinkRefusesPasswordInURL: a password on the command line is visible
// to every user of the host; it must not be used, nor echoed.
func TestSinkRefusesPasswordInURL(t *testing.T) {
	stderr := &syncBuffer{}
	err := runSink(context.Background(), []string{"-to", "postgres://u:hunter2@127.0.0.1:1/db"}, os.Stdout, stderr)
	if err == nil || !strings.Contains(err.Error(), "password") || strings.Contains(err.Error()+stderr.String(), "hunter2") {
		t.Fatalf("err = %v\n%s", err, stderr)
	}
	err = runSink(context.Background(), []string{"-to", "mysql:x"}, os.Stdout, stderr)
	if err == nil || !strings.Contains(err.Error(), "sqlite:FILE") {
		t.Fatalf("bad -to: err = %v", err)
	}
}

// TestSinkRefusesZeroSizes: a 0 the sink package would silently replace
// by its default is refused, before any store is opened.
func TestSinkRefusesZeroSizes(t *testing.T) {
	dir := t.TempDir()
	for _, flag := range []string{"-batch", "-buffer", "-flush", "-rotate-size"} {
		err := runSink(context.Background(), []string{"-to", "csv:" + dir, "-nats-url", "nats://127.0.0.1:1", flag, "0"}, os.Stdout, &syncBuffer{})
		if err == nil || !strings.HasPrefix(err.Error(), flag+" 0") {
			t.Errorf("%s 0: err = %v", flag, err)
		}
	}
}

// TestSinkRefusesNegativesByFlag: a negative size or duration is refused
// naming its flag, before any store is opened, not in the sink package's
// terms ("sink: negative duration in options").
func TestSinkRefusesNegativesByFlag(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range [][2]string{
		{"-batch", "-5"}, {"-buffer", "-5"}, {"-buffer", "10"}, {"-flush", "-1s"}, {"-rotate-every", "-1h"},
	} {
		err := runSink(context.Background(), []string{"-to", "csv:" + dir, "-nats-url", "nats://127.0.0.1:1", tc[0], tc[1]}, os.Stdout, &syncBuffer{})
		if err == nil || !strings.HasPrefix(err.Error(), tc[0]+" ") {
			t.Errorf("%s %s: err = %v, want one naming %s", tc[0], tc[1], err, tc[0])
		}
	}
}

// TestSinkWaitsForDatabase: a PostgreSQL server that is not up yet is
// waited for, and said so, not a fatal error.
func TestSinkWaitsForDatabase(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	url := fmt.Sprintf("postgres://tickd@127.0.0.1:%d/db?sslmode=disable&connect_timeout=2", freePort(t))
	go func() { done <- runSink(ctx, []string{"-to", url}, os.Stdout, stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(stderr.String(), "sink: database unreachable") < 2 {
		select {
		case err := <-done:
			t.Fatalf("sink gave up: %v\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no retries logged:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("sink stopped before its database came up: %v, want the database's error", err)
	}
	// Stopped as asked, as serve is during its start-up: exit 0, saying why
	// it had not started.
	var msg bytes.Buffer
	if code := exitCode(ctx, "sink", err, &msg); code != 0 || !strings.Contains(msg.String(), "tickd sink: interrupted: stopped waiting for the database") {
		t.Errorf("exit %d, %q; want 0 and the interrupted line", code, msg.String())
	}
}

// TestSinkFlagsTakeNoSecret: secrets come from files and the environment.
func TestSinkFlagsTakeNoSecret(t *testing.T) {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	var cfg sinkConfig
	cfg.register(fs)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		for _, w := range []string{"password", "token", "seed", "secret"} {
			if strings.Contains(f.Name, w) && !strings.HasSuffix(f.Name, "-file") {
				t.Errorf("flag -%s takes a secret on the command line", f.Name)
			}
		}
		if strings.HasPrefix(f.Name, "nats-users") || strings.HasPrefix(f.Name, "feed-") {
			t.Errorf("flag -%s configures a server: sink is a client", f.Name)
		}
	})
	if fs.Lookup("nats-creds") == nil || fs.Lookup("pg-password-file") == nil {
		t.Errorf("client auth flags missing (%d flags)", n)
	}
}

// TestSinkDurableNeedsStream: -durable without a stream capturing the
// signals is an error naming the subject, not a silent wait.
func TestSinkDurableNeedsStream(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if err := srv.NATS().EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	err = runSink(context.Background(), []string{"-nats-url", srv.ClientURL(), "-durable", "d",
		"-to", "sqlite:" + filepath.Join(t.TempDir(), "x.db")}, os.Stdout, stderr)
	if err == nil || !strings.Contains(err.Error(), "tickd.signal.>") {
		t.Fatalf("err = %v\n%s", err, stderr)
	}
}

// TestSinkExitsWhenConnectionClosed: a sink whose restarted server refuses
// its login for good (nats.go closes the connection) exits with an error
// naming why, core and durable alike, instead of waiting for nothing.
func TestSinkExitsWhenConnectionClosed(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(fmt.Sprintf("durable=%v", durable), func(t *testing.T) {
			port := freePort(t)
			srv, err := bus.StartServer(bus.ServerOptions{Port: port, JetStream: durable, StoreDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"-nats-url", srv.ClientURL(), "-to", "csv:" + t.TempDir()}
			if durable {
				nc, err := nats.Connect(srv.ClientURL())
				if err == nil {
					_, err = bus.EnsureStream(context.Background(), nc, bus.DefaultPrefix, bus.JetStreamOptions{})
					nc.Close()
				}
				if err != nil {
					srv.Shutdown()
					t.Fatal(err)
				}
				args = append(args, "-durable", "d")
			}
			subs := srv.NATS().NumSubscriptions()
			stderr := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- runSink(context.Background(), args, os.Stdout, stderr) }()
			waitUntil(t, "sink to subscribe", 10*time.Second, func() bool { return srv.NATS().NumSubscriptions() > subs })
			srv.Shutdown()
			startTestServer(t, port, bus.User{Name: "u", Password: "secret-password"})
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "NATS connection closed for good") || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
					t.Errorf("sink returned %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("sink still running against a server that refuses it\nstderr:\n%s", stderr.String())
			}
		})
	}
}
