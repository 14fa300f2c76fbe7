package replay

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/sim"
	"github.com/tickd/tickd/tick"
)

// benchCapture records n simulated native trades of 64 symbols, in 64 KiB
// reads, as `tickd serve -record` would. It returns the path and the bytes.
func benchCapture(b *testing.B, n int) (string, int) {
	b.Helper()
	g, err := sim.New(sim.Config{Count: 64, Seed: 7, Rate: 1e6})
	if err != nil {
		b.Fatal(err)
	}
	names := g.Symbols()
	var enc feed.NativeEncoder
	stream := enc.Hello(nil)
	for range n {
		t := g.Next()
		stream = enc.Trade(stream, names[t.Symbol], t.TsEvent, t.Price, t.Qty, t.Side)
	}
	stream = enc.End(stream, 0)
	path := filepath.Join(b.TempDir(), "bench.tcap")
	w, err := Create(path, WriterOptions{Format: "native"})
	if err != nil {
		b.Fatal(err)
	}
	w.Open(1, "tcp bench")
	recv := time.Now().UnixNano()
	for rest := stream; len(rest) > 0; {
		k := min(len(rest), 64<<10)
		w.Data(1, recv, rest[:k])
		recv += int64(time.Millisecond)
		rest = rest[k:]
	}
	w.Close(1, recv)
	if err := w.Finish(); err != nil {
		b.Fatal(err)
	}
	return path, len(stream)
}

// stepSink runs every committed batch through an engine.Step on the
// player's goroutine: capture → decode → book/stats/rules, one core.
type stepSink struct {
	st    *engine.Step
	slots []tick.Event
	outs  int
	emit  func(*tick.Out) // counts records; built once (a closure or method value made in Commit escapes: an allocation per batch)
}

func newStepSink(st *engine.Step) *stepSink {
	s := &stepSink{st: st, slots: make([]tick.Event, claimBatch)}
	s.emit = func(*tick.Out) { s.outs++ }
	return s
}

func (s *stepSink) Claim(n int) []tick.Event { return s.slots[:min(n, len(s.slots))] }
func (s *stepSink) Commit(k int)             { s.st.Process(s.slots[:k], s.emit) }
func (s *stepSink) Close()                   {}

// discard takes events and drops them: the decode-only baseline.
type discard struct{ slots []tick.Event }

func (d *discard) Claim(n int) []tick.Event { return d.slots[:min(n, len(d.slots))] }
func (d *discard) Commit(int)               {}
func (d *discard) Close()                   {}

// benchReplay plays a capture of n trades per op, each op into a fresh
// engine, as `tickd replay` plays it: a Step kept across ops would see
// every trade after the first op as earlier than its symbol's last (the
// same event times again), clamp it, and skip the work of time moving on
// (EMAs, window and bar rolls).
func benchReplay(b *testing.B, withEngine bool, rules []engine.RuleSpec) {
	const trades = 200_000
	path, size := benchCapture(b, trades)
	syms := tick.NewSymbolTable(1024)
	var sink feed.Sink = &discard{slots: make([]tick.Event, claimBatch)}
	open := func(string) (feed.Sink, error) { return sink, nil }
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var st *engine.Step
		if withEngine {
			b.StopTimer()
			var err error
			if st, err = engine.NewStep(engine.Config{Rules: rules}, syms); err != nil {
				b.Fatal(err)
			}
			sink = newStepSink(st)
			b.StartTimer()
		}
		p, err := NewPlayer([]string{path}, PlayerOptions{Symbols: syms, Open: open})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		if pr := p.Progress(); pr.Events != trades+1 {
			b.Fatalf("%d events", pr.Events)
		}
		if st != nil {
			if c := st.Counters(); c.Trades != trades || c.OutOfOrder != 0 {
				b.Fatalf("%d trades, %d out of order", c.Trades, c.OutOfOrder)
			}
		}
	}
	b.ReportMetric(float64(trades)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReplayMax plays a native capture at max speed through the engine
// (engine.Step, one core) with its default rules, as `tickd replay` runs
// when no rule is configured.
func BenchmarkReplayMax(b *testing.B) { benchReplay(b, true, engine.DefaultRules()) }

// BenchmarkReplayMaxNoRules is the same with every statistic and bar but no
// rule: what the rules cost is the difference.
func BenchmarkReplayMaxNoRules(b *testing.B) { benchReplay(b, true, nil) }

// BenchmarkReplayMaxDecodeOnly is the baseline without the engine: capture
// read + decode.
func BenchmarkReplayMaxDecodeOnly(b *testing.B) { benchReplay(b, false, nil) }

// benchReads returns the reads of a recorded native stream of n trades, as
// its connection delivered them (64 KiB each), and their total size.
func benchReads(b *testing.B, n int) ([][]byte, int) {
	path, size := benchCapture(b, n)
	r, _, err := OpenCapture(path, OpenOptions{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var reads [][]byte
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind == KindData {
			reads = append(reads, bytes.Clone(rec.Bytes))
		}
	}
	return reads, size
}

// recordingCost runs op, one stream of the live path of one source, b.N
// times in sub-benchmarks without and with a Recorder as its feed tap
// (writing a real file, its writer goroutine beside it), as `tickd serve
// -record` taps the feed: through the page cache ("buffered") and with
// O_DIRECT ("direct", serve's default). The ratio to "engine" is what
// recording costs the engine. op is called with the timer running and
// stops it around its own set-up.
func recordingCost(b *testing.B, op func(b *testing.B, reads [][]byte, opts feed.Options)) {
	reads, size := benchReads(b, recordingTrades)
	for _, mode := range []string{"engine", "engine+recorder-buffered", "engine+recorder-direct"} {
		b.Run(mode, func(b *testing.B) {
			opts := feed.Options{Symbols: tick.NewSymbolTable(1024)}
			var rec *Recorder
			if mode != "engine" {
				var err error
				if rec, err = NewRecorder(RecorderOptions{Dir: b.TempDir(), Format: "native", Sync: SyncPolicy{Every: -1},
					Direct: mode == "engine+recorder-direct"}); err != nil {
					b.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- rec.Run(context.Background()) }()
				defer func() {
					rec.Stop()
					if err := <-done; err != nil {
						b.Error(err)
					}
				}()
				opts.Tap = rec
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				op(b, reads, opts)
			}
			b.StopTimer() // the recorder's final drain to disk is not the engine's time
			b.ReportMetric(float64(recordingTrades)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if rec != nil {
				b.ReportMetric(float64(rec.Stalls())/float64(b.N), "stalls/op")
			}
		})
	}
}

const recordingTrades = 200_000

// BenchmarkRecordingCost is the live path of one source on one core, as
// `tickd serve -fused -record` runs it: 64 KiB reads of a native stream
// decoded by a feed pump (feed.ReadStream) into an engine.Step (every
// statistic, the default rules) on the same goroutine. Each op is one
// stream into a fresh engine (see benchReplay).
func BenchmarkRecordingCost(b *testing.B) {
	recordingCost(b, func(b *testing.B, reads [][]byte, opts feed.Options) {
		b.StopTimer()
		st, err := engine.NewStep(engine.Config{Rules: engine.DefaultRules()}, opts.Symbols)
		if err != nil {
			b.Fatal(err)
		}
		sink := newStepSink(st)
		b.StartTimer()
		if err := feed.ReadStream("bench", &chunkReader{reads: reads}, sink, opts); err != nil {
			b.Fatal(err)
		}
		if c := st.Counters(); c.Trades != recordingTrades || c.OutOfOrder != 0 {
			b.Fatalf("%d trades, %d out of order", c.Trades, c.OutOfOrder)
		}
	})
}

// BenchmarkRecordingCostPipelined is the same source as `tickd serve
// -record` runs it by default: the pump on the benchmark's goroutine, the
// engine on its own (Engine.Run, serve's park wait), its records drained
// by a third. Each op is one connection's stream into a fresh engine (see
// benchReplay); the clock runs from the first read until the engine has
// taken every event.
func BenchmarkRecordingCostPipelined(b *testing.B) {
	recordingCost(b, func(b *testing.B, reads [][]byte, opts feed.Options) {
		b.StopTimer()
		bell := ringbuf.NewBell()
		e, err := engine.New(engine.Config{Rules: engine.DefaultRules(), Wait: ringbuf.Park, OutputBell: bell}, opts.Symbols)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { e.Run(ctx) })
		wg.Go(func() { // the publisher's place: take and drop every record
			out := e.Outputs()[0].Consumer(0)
			for {
				batch, ok := out.Wait()
				if !ok {
					return
				}
				out.Release(len(batch))
			}
		})
		in, err := e.NewInput("bench")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := feed.ReadStream("bench", &chunkReader{reads: reads}, in, opts); err != nil {
			b.Fatal(err)
		}
		for e.Counters().Events < recordingTrades+1 { // the trades and the stream's end
			runtime.Gosched()
		}
		b.StopTimer()
		cancel()
		wg.Wait()
		if c := e.Counters(); c.OutOfOrder != 0 {
			b.Fatalf("%d trades out of order", c.OutOfOrder)
		}
		b.StartTimer()
	})
}

// chunkReader yields reads one per Read, as a socket delivers them.
type chunkReader struct {
	reads [][]byte
	off   int // into reads[0]
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.reads) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.reads[0][c.off:])
	if c.off += n; c.off == len(c.reads[0]) {
		c.reads, c.off = c.reads[1:], 0
	}
	return n, nil
}
