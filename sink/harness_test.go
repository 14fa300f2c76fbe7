package sink

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/internal/testpg"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// hangGuard bounds every wait: a guard against hangs, not a timing assertion.
const hangGuard = 60 * time.Second

// startNATS starts an in-process server, with JetStream and a stream
// capturing signals and bars when js is set.
func startNATS(t *testing.T, js bool) *bus.Server {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerOptions{DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if js {
		if err := srv.NATS().EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		nc := connect(t, srv)
		jsc, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if _, err := jsc.CreateStream(ctx, jetstream.StreamConfig{Name: "TICKD", Subjects: []string{"tickd.>"}}); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

func connect(t *testing.T, srv *bus.Server) *nats.Conn {
	t.Helper()
	nc, err := srv.ConnectInProcess()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// key is a row's identity.
type key struct {
	pub string
	seq uint64
}

// truth records every signal and bar published, as canonical rows.
type truth struct {
	mu   sync.Mutex
	rows map[key][]string
}

func watch(t *testing.T, nc *nats.Conn) *truth {
	t.Helper()
	tr := &truth{rows: map[key][]string{}}
	for _, subj := range Subjects("") {
		sub, err := bus.Subscribe(nc, subj, func(m bus.Message) {
			tb := tableOf(m)
			if tb == nil {
				return
			}
			pub, seq := m.Origin()
			row := canonical(tb, tb.row(m, nil))
			tr.mu.Lock()
			tr.rows[key{pub, seq}] = row
			tr.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return tr
}

// wait waits until n rows were seen.
func (tr *truth) wait(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d published rows", n), func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return len(tr.rows) >= n
	})
}

func (tr *truth) snapshot() map[key][]string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make(map[key][]string, len(tr.rows))
	for k, v := range tr.rows {
		out[k] = v
	}
	return out
}

// canonical renders row values so that what a store reads back compares
// equal to what was published: the table's name first, decimals normalised
// (PostgreSQL's NUMERIC keeps trailing zeros), JSON re-marshalled.
func canonical(tb *table, vals []any) []string {
	out := []string{tb.name}
	for i, v := range vals {
		var s string
		switch v := v.(type) {
		case int64:
			s = strconv.FormatInt(v, 10)
		case string:
			s = v
		case []byte:
			s = string(v)
		default:
			s = fmt.Sprint(v)
		}
		switch tb.cols[i].typ {
		case colDecimal:
			if d, err := decimal.NewFromString(s); err == nil {
				s = d.String()
			}
		case colJSON:
			var x any
			if json.Unmarshal([]byte(s), &x) == nil {
				b, _ := json.Marshal(x)
				s = string(b)
			}
		}
		out = append(out, s)
	}
	return out
}

// publishing is n records published through a real bus.Publisher: signals, bars and
// (not consumed by sinks) stats, from publisher id; when paced, it pauses a
// millisecond every 16 records, so that a sink restart happens while
// messages flow, and it holds the second half back until release.
type publishing struct {
	done chan error
	gate chan struct{}
}

// release lets a paced publishing send its second half.
func (f *publishing) release() { close(f.gate) }

func startFeed(t *testing.T, srv *bus.Server, id string, n int, paced bool) *publishing {
	t.Helper()
	syms := tick.NewSymbolTable(16)
	aapl, _ := syms.Intern("AAPL")
	brk, _ := syms.Intern("BRK.A")
	odd, _ := syms.Intern(`Q"T,S`) // a quote and a comma, for CSV
	rules := []bus.RuleInfo{
		{ID: "brk_up", Type: "threshold", Params: []bus.Param{{Name: "level", Value: "412"}}, ValueNames: [3]string{"last", "level"}},
		{ID: "z", Type: "zscore", ValueNames: [3]string{"zscore", "", "stddev"}},
	}
	pub, err := bus.NewPublisher(connect(t, srv), syms, rules, bus.PublisherOptions{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	f := &publishing{done: make(chan error, 1), gate: make(chan struct{})}
	go func() { f.done <- pub.Run([]*ringbuf.Ring[tick.Out]{ring}) }()
	go func() {
		defer ring.Close()
		symsList := []tick.SymbolID{aapl, brk, odd}
		for i := range n {
			if paced && i%16 == 15 {
				time.Sleep(time.Millisecond)
			}
			if paced && i == n/2 {
				<-f.gate
			}
			slot := ring.Reserve(1)
			o := &slot[0]
			*o = tick.Out{}
			ts := int64(1_700_000_000_000_000_000 + i*1000)
			sym := symsList[i%3]
			px := tick.Price(100_000_000_000 + int64(i)*1_000_001)
			switch i % 5 {
			case 0, 1:
				o.Kind = tick.OutSignal
				o.Signal = tick.Signal{TsEvent: ts, TsRecv: ts + 5, Symbol: sym, Rule: uint16(i % 2),
					Dir: int8(1 - 2*(i%2)), Price: px, Values: [3]float64{float64(i) + 0.25, float64(i % 7), 1e-9}}
			case 2, 3:
				o.Kind = tick.OutBar
				iv := int64(time.Second)
				o.Bar = tick.Bar{Symbol: sym, Count: uint32(i), Interval: iv, Start: ts - ts%iv, Open: px,
					High: px + 7, Low: px - 7, Close: px + 1, VWAP: px + 3, Volume: int64(i) * 100, TsRecv: ts}
			default:
				o.Kind = tick.OutStats
				o.Stats = tick.Stats{Symbol: sym, TsEvent: ts, Last: px, Min: px, Max: px, Count: int64(i)}
			}
			ring.Commit(1)
		}
	}()
	return f
}

// wait waits for the publisher to have sent everything.
func (f *publishing) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-f.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hangGuard):
		t.Fatal("publisher did not finish")
	}
}

// readSQL reads every row of both tables of db.
func readSQL(db *sql.DB) (map[key][]string, int, error) {
	out := map[key][]string{}
	total := 0
	for _, tb := range tables {
		names := make([]string, len(tb.cols))
		for i, c := range tb.cols {
			names[i] = c.name
			if c.typ != colInt {
				names[i] = "CAST(" + c.name + " AS TEXT)" // NUMERIC and JSONB as text
			}
		}
		q := "SELECT " + strings.Join(names, ", ") + " FROM " + tb.name
		rows, err := db.Query(q)
		if err != nil {
			return nil, 0, err
		}
		for rows.Next() {
			vals := make([]any, len(tb.cols))
			ptrs := make([]any, len(tb.cols))
			for i := range vals {
				if tb.cols[i].typ == colInt {
					vals[i] = new(int64)
				} else {
					vals[i] = new(string)
				}
				ptrs[i] = vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, 0, err
			}
			for i, p := range ptrs {
				switch p := p.(type) {
				case *int64:
					vals[i] = *p
				case *string:
					vals[i] = *p
				}
			}
			total++
			out[key{vals[0].(string), uint64(vals[1].(int64))}] = canonical(tb, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// readFiles reads every row of every file a file store wrote in dir.
func readFiles(dir string, format FileFormat) (map[key][]string, int, error) {
	out := map[key][]string{}
	total := 0
	for _, tb := range tables {
		files, _ := filepath.Glob(filepath.Join(dir, tb.stem+"-*"+format.ext()))
		sort.Strings(files)
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, 0, err
			}
			var recs [][]any
			if format == CSV {
				lines, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
				if err != nil {
					return nil, 0, fmt.Errorf("%s: %w", name, err)
				}
				if len(lines) == 0 || strings.Join(lines[0], ",") != strings.Join(colNames(tb), ",") {
					return nil, 0, fmt.Errorf("%s: header %v", name, lines)
				}
				for _, l := range lines[1:] {
					vals := make([]any, len(l))
					for i, s := range l {
						if vals[i], err = fieldValue(tb.cols[i], s); err != nil {
							return nil, 0, fmt.Errorf("%s: %w", name, err)
						}
					}
					recs = append(recs, vals)
				}
			} else {
				for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
					if line == "" {
						continue
					}
					var obj map[string]json.RawMessage
					if err := json.Unmarshal([]byte(line), &obj); err != nil {
						return nil, 0, fmt.Errorf("%s: %w: %s", name, err, line)
					}
					vals := make([]any, len(tb.cols))
					for i, c := range tb.cols {
						raw := obj[c.name]
						var s string
						if c.typ == colJSON || c.typ == colInt {
							s = string(raw)
						} else if err := json.Unmarshal(raw, &s); err != nil {
							return nil, 0, fmt.Errorf("%s: %s: %w", name, c.name, err)
						}
						if vals[i], err = fieldValue(c, s); err != nil {
							return nil, 0, fmt.Errorf("%s: %w", name, err)
						}
					}
					recs = append(recs, vals)
				}
			}
			for _, vals := range recs {
				total++
				out[key{vals[0].(string), uint64(vals[1].(int64))}] = canonical(tb, vals)
			}
		}
	}
	return out, total, nil
}

func colNames(tb *table) []string {
	var n []string
	for _, c := range tb.cols {
		n = append(n, c.name)
	}
	return n
}

func fieldValue(c column, s string) (any, error) {
	if c.typ != colInt {
		return s, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("column %s: %q: %w", c.name, s, err)
	}
	return v, nil
}

// pgDB opens a database/sql handle on the test cluster for reading back.
func pgDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = testpg.Password
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
