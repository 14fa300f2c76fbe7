package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/internal/testpg"
)

// backend opens a store and reads back what it holds (rows by key, and the
// total row count, which exceeds len(rows) if a row was written twice).
type backend struct {
	name string
	open func(t *testing.T) Store
	read func() (map[key][]string, int, error)
}

func sqliteBackend(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "tickd.db")
	var reader *sql.DB
	return backend{name: "sqlite",
		open: func(t *testing.T) Store {
			st, err := OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if reader == nil {
				if reader, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { reader.Close() })
			}
			return st
		},
		read: func() (map[key][]string, int, error) { return readSQL(reader) },
	}
}

// pgBackend uses a fresh database on pg; the password comes from a file.
func pgBackend(t *testing.T, pg *testpg.Server) backend {
	name := strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	url, err := pg.NewDatabase(name)
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(testpg.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reader := pgDB(t, url)
	return backend{name: "postgres",
		open: func(t *testing.T) Store {
			st, err := OpenPostgres(context.Background(), PostgresOptions{URL: url, PasswordFile: pwFile})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		read: func() (map[key][]string, int, error) { return readSQL(reader) },
	}
}

func filesBackend(t *testing.T, format FileFormat) backend {
	dir := t.TempDir()
	return backend{name: strings.TrimPrefix(format.ext(), "."),
		open: func(t *testing.T) Store {
			st, err := OpenFiles(FileOptions{Dir: dir, Format: format, MaxSize: 16 << 10})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		read: func() (map[key][]string, int, error) { return readFiles(dir, format) },
	}
}

// running is a sink consuming from a server.
type running struct {
	s       *Sink
	store   Store
	nc      *nats.Conn
	cancel  context.CancelFunc
	runErr  chan error
	consErr chan error
	unsub   func()
}

// runSink starts a sink on store: through the durable consumer durable, or
// on core NATS when durable is "".
func runSink(t *testing.T, srv *bus.Server, store Store, opts Options, durable string) *running {
	t.Helper()
	s, err := New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := srv.ConnectInProcess()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, store: store, nc: nc, cancel: cancel, runErr: make(chan error, 1), consErr: make(chan error, 1)}
	if durable == "" {
		if r.unsub, err = SubscribeCore(nc, "", s); err != nil {
			t.Fatal(err)
		}
		r.consErr <- nil
	} else {
		go func() { r.consErr <- ConsumeDurable(ctx, nc, DurableOptions{Name: durable, AckWait: ackWait}, s) }()
	}
	go func() { r.runErr <- s.Run(ctx) }()
	return r
}

// ackWait is short so that what a stopped sink left unacked comes back soon.
const ackWait = time.Second

// stop ends the sink the way `tickd sink` does on SIGTERM: stop consuming,
// write what is buffered, ack it, then close.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.unsub != nil {
		r.unsub()
	}
	r.cancel()
	if err := <-r.consErr; err != nil {
		t.Errorf("consumer: %v", err)
	}
	if err := <-r.runErr; err != nil {
		t.Errorf("run: %v", err)
	}
	r.nc.Close()
	if err := r.store.Close(); err != nil {
		t.Error(err)
	}
}

// crash ends the sink as a lost connection does: the buffered rows are
// still written, but their acks never reach the server, so they come
// back after a restart and the store must skip them.
func (r *running) crash(t *testing.T) {
	t.Helper()
	r.nc.Close()
	r.cancel()
	<-r.consErr // an error: the connection is gone
	if err := <-r.runErr; err != nil {
		t.Errorf("run: %v", err)
	}
	if err := r.store.Close(); err != nil {
		t.Error(err)
	}
}

// sentinel publishes two signals and two bars from another publisher and
// waits until the store holds the last of each: on core NATS each subject
// pattern is delivered in order, so everything published before is then
// stored (or lost, if the sink was away).
func sentinel(t *testing.T, srv *bus.Server, b backend) {
	t.Helper()
	startFeed(t, srv, "zz-sentinel", 4, false).wait(t)
	waitFor(t, "the sentinel rows", func() bool {
		rows, _, err := b.read()
		return err == nil && rows[key{"zz-sentinel", 2}] != nil && rows[key{"zz-sentinel", 4}] != nil
	})
}

// check compares the store with what was published: every stored row
// matches its published message field for field, none is stored twice,
// and (when exact) every published row is stored.
func check(t *testing.T, b backend, published map[key][]string, exact bool) map[key][]string {
	t.Helper()
	got, total, err := b.read()
	if err != nil {
		t.Fatal(err)
	}
	if total != len(got) {
		t.Errorf("%d rows stored for %d keys: duplicates", total, len(got))
	}
	for k, row := range got {
		want, ok := published[k]
		switch {
		case !ok:
			t.Errorf("stored row %v was never published", k)
		case !reflect.DeepEqual(row, want):
			t.Errorf("row %v:\n got %q\nwant %q", k, row, want)
		}
	}
	if exact && len(got) != len(published) {
		missing := 0
		for k := range published {
			if got[k] == nil {
				missing++
				if missing <= 5 {
					t.Errorf("published row %v not stored", k)
				}
			}
		}
		t.Errorf("%d rows stored, %d published (%d missing)", len(got), len(published), missing)
	}
	return got
}

func TestSinks(t *testing.T) {
	pg := testpg.Start(t)
	backends := []func(t *testing.T) backend{
		sqliteBackend,
		func(t *testing.T) backend { return pgBackend(t, pg) },
		func(t *testing.T) backend { return filesBackend(t, CSV) },
		func(t *testing.T) backend { return filesBackend(t, JSONLines) },
	}
	names := []string{"sqlite", "postgres", "csv", "jsonl"}
	for i, mk := range backends {
		t.Run(names[i]+"/core-exact", func(t *testing.T) { testCoreExact(t, mk(t)) })
		t.Run(names[i]+"/core-restart", func(t *testing.T) { testCoreRestart(t, mk(t)) })
		t.Run(names[i]+"/durable-restart", func(t *testing.T) { testDurableRestart(t, mk(t)) })
		t.Run(names[i]+"/fixed-id-rerun", func(t *testing.T) { testFixedIDRerun(t, mk(t)) })
	}
}

// testCoreExact: a sink running throughout stores exactly what was published.
func testCoreExact(t *testing.T, b backend) {
	srv := startNATS(t, false)
	tr := watch(t, connect(t, srv))
	r := runSink(t, srv, b.open(t), Options{BatchSize: 64}, "")
	startFeed(t, srv, "pub-a", 1000, false).wait(t)
	sentinel(t, srv, b)
	r.stop(t)
	// The watcher's own subscriptions may still be delivering when the
	// sink has stored the sentinel.
	tr.wait(t, 800+4)
	published := tr.snapshot()
	if len(published) != 800+4 { // 4 in 5 records are signals or bars
		t.Fatalf("watched %d rows published, want 804", len(published))
	}
	check(t, b, published, true)
	if c := r.s.Counters(); c.Written != 804 || c.Skipped != 0 || c.Duplicates != 0 || c.Overflow != 0 || c.Buffered != 0 {
		t.Errorf("counters %+v", c)
	}
}

// testFixedIDRerun: two runs of a publisher with one fixed id send the
// same seqs again; their publish times differ, and both runs are stored.
func testFixedIDRerun(t *testing.T, b backend) {
	srv := startNATS(t, false)
	r := runSink(t, srv, b.open(t), Options{BatchSize: 16}, "")
	startFeed(t, srv, "pub-fixed", 100, false).wait(t) // 80 signals and bars
	startFeed(t, srv, "pub-fixed", 100, false).wait(t) // the same seqs, a new run
	sentinel(t, srv, b)                                // 4 more
	r.stop(t)
	if _, total, err := b.read(); err != nil || total != 80+80+4 {
		t.Fatalf("%d rows stored (%v), want both runs' 80 and the sentinel's 4", total, err)
	}
	if c := r.s.Counters(); c.Duplicates != 0 {
		t.Errorf("the second run counted as duplicates: %+v", c)
	}
}

// testCoreRestart: a core-NATS sink stopped and started while messages
// flow loses what was published while it was away, but stores nothing
// twice and nothing wrong, and resumes.
func testCoreRestart(t *testing.T, b backend) {
	srv := startNATS(t, false)
	tr := watch(t, connect(t, srv))
	r := runSink(t, srv, b.open(t), Options{BatchSize: 32}, "")
	f := startFeed(t, srv, "pub-a", 3000, true)
	waitFor(t, "rows before the restart", func() bool { return r.s.Counters().Written >= 100 })
	r.stop(t)
	before, _, err := b.read()
	if err != nil {
		t.Fatal(err)
	}
	r = runSink(t, srv, b.open(t), Options{BatchSize: 32}, "")
	f.release() // the second half, certainly after the restart
	f.wait(t)
	sentinel(t, srv, b)
	r.stop(t)
	tr.wait(t, 2400+4) // every row published, as testCoreExact waits for them
	got := check(t, b, tr.snapshot(), false)
	last := func(rows map[key][]string) (max uint64) {
		for k := range rows {
			if k.pub == "pub-a" && k.seq > max {
				max = k.seq
			}
		}
		return max
	}
	if last(got) <= 1500 || len(got) <= len(before)+4 {
		t.Errorf("no rows stored after the restart: %d rows, last seq %d; before: %d, %d", len(got), last(got), len(before), last(before))
	}
}

// testDurableRestart: a sink on a JetStream durable consumer that loses its
// connection with rows written but not acked, and is restarted while
// messages flow, ends with exactly what was published, once each.
func testDurableRestart(t *testing.T, b backend) {
	srv := startNATS(t, true)
	tr := watch(t, connect(t, srv))
	// Rows wait in the buffer (no timed flush) so that some are certainly
	// written by the crash's final drain without their acks reaching the
	// server: the restarted sink gets them again.
	r := runSink(t, srv, b.open(t), Options{BatchSize: 100_000, MaxBuffer: 100_000, FlushInterval: 1 << 40}, "sink-test")
	f := startFeed(t, srv, "pub-a", 3000, true)
	waitFor(t, "buffered rows", func() bool { return r.s.Counters().Buffered >= 100 })
	r.crash(t)
	if c := r.s.Counters(); c.Written < 100 {
		t.Fatalf("crashed sink wrote %d rows, want its buffer (>= 100)", c.Written)
	}
	r = runSink(t, srv, b.open(t), Options{BatchSize: 64}, "sink-test")
	f.release()
	f.wait(t)
	tr.wait(t, 2400)
	published := tr.snapshot()
	waitFor(t, "every published row", func() bool {
		rows, _, err := b.read()
		return err == nil && len(rows) >= len(published)
	})
	waitFor(t, "the redelivered rows", func() bool { return r.s.Counters().Duplicates > 0 })

	r.stop(t)
	check(t, b, published, true)
}

// TestPostgresOutage stops PostgreSQL mid-stream. On core NATS the sink
// reports write failures, buffers up to its bound and counts what
// overflows, and once the server is back stores everything it buffered:
// nothing else is lost. Through a durable consumer it stops reading
// instead, and ends with every row.
func TestPostgresOutage(t *testing.T) {
	pg := testpg.Start(t)
	for _, durable := range []string{"", "outage"} {
		name := "core"
		if durable != "" {
			name = "durable"
		}
		t.Run(name, func(t *testing.T) { testOutage(t, pg, durable) })
	}
}

func testOutage(t *testing.T, pg *testpg.Server, durable string) {
	b := pgBackend(t, pg)
	srv := startNATS(t, durable != "")
	tr := watch(t, connect(t, srv))
	var reports []string
	r := runSink(t, srv, b.open(t), Options{BatchSize: 32, MaxBuffer: 400, RetryMin: 10e6, RetryMax: 100e6,
		WriteTimeout: 2e9, OnReport: func(c Counters, err error) { reports = append(reports, fmt.Sprint(c, err)) }}, durable)
	f := startFeed(t, srv, "pub-a", 3000, true)
	waitFor(t, "rows before the outage", func() bool { return r.s.Counters().Written >= 100 })
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	f.release() // 1200 more rows, three times the buffer, while the database is away
	waitFor(t, "failed writes and a full buffer", func() bool {
		c := r.s.Counters()
		return c.Failures >= 2 && (c.Overflow > 0 || c.Buffered == 400)
	})
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	f.wait(t)
	tr.wait(t, 2400)
	published := tr.snapshot()
	if durable == "" {
		waitFor(t, "the sink to catch up", func() bool {
			c := r.s.Counters()
			return c.Received == 2400 && c.Buffered == 0
		})
	} else {
		waitFor(t, "every published row", func() bool {
			rows, _, err := b.read()
			return err == nil && len(rows) >= len(published)
		})
	}
	r.stop(t)
	got := check(t, b, published, durable != "")
	c := r.s.Counters()
	if durable == "" && (uint64(len(got)) != c.Written || c.Written+c.Overflow != uint64(len(published))) {
		t.Errorf("stored %d, counters %+v, published %d: written + overflow must be what was published", len(got), c, len(published))
	}
	if durable != "" && c.Overflow != 0 {
		t.Errorf("durable sink overflowed: %+v", c)
	}
	if len(reports) == 0 || !strings.Contains(strings.Join(reports, "\n"), "postgres") {
		t.Errorf("outage not reported: %q", reports)
	}
}

// TestPostgresRefusesPasswordInURL: a password on the command line is
// readable by every user of the host.
func TestPostgresRefusesPasswordInURL(t *testing.T) {
	_, err := OpenPostgres(context.Background(), PostgresOptions{URL: "postgres://u:secret@127.0.0.1:1/db"})
	if err == nil || !strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v", err)
	}
}

// TestReportCarriesShortOutage: an outage that starts and ends within one
// ReportInterval of another report (here an overflow's) still reports its
// error, before the recovery.
func TestReportCarriesShortOutage(t *testing.T) {
	var errs []error
	s := &Sink{opts: Options{ReportInterval: time.Hour, OnReport: func(_ Counters, err error) { errs = append(errs, err) }}}
	r := reporter{s: s}
	s.overflow.Add(1)
	r.periodic() // the overflow's report: the interval starts
	s.failures.Add(1)
	down := errors.New("postgres: connection refused")
	r.failed(down) // within the interval: not reported yet
	r.ok()
	if len(errs) != 3 || errs[0] != nil || errs[1] != down || errs[2] != nil {
		t.Fatalf("reports %v: want the overflow's (nil), the outage's error, then the recovery (nil)", errs)
	}
	r.failed(down)
	r.periodic()
	r.ok() // a second outage within the interval: its error once, then the recovery
	if len(errs) != 5 || errs[3] != down || errs[4] != nil {
		t.Fatalf("reports %v", errs)
	}
}
