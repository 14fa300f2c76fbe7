package replay

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
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
}

func (s *stepSink) Claim(n int) []tick.Event { return s.slots[:min(n, len(s.slots))] }
func (s *stepSink) Commit(k int)             { s.st.Process(s.slots[:k], func(*tick.Out) { s.outs++ }) }
func (s *stepSink) Close()                   {}

// discard takes events and drops them: the decode-only baseline.
type discard struct{ slots []tick.Event }

func (d *discard) Claim(n int) []tick.Event { return d.slots[:min(n, len(d.slots))] }
func (d *discard) Commit(int)               {}
func (d *discard) Close()                   {}

func benchReplay(b *testing.B, withEngine bool) {
	const trades = 200_000
	path, size := benchCapture(b, trades)
	syms := tick.NewSymbolTable(1024)
	var sink feed.Sink = &discard{slots: make([]tick.Event, claimBatch)}
	if withEngine {
		st, err := engine.NewStep(engine.Config{Rules: engine.DefaultRules()}, syms)
		if err != nil {
			b.Fatal(err)
		}
		sink = &stepSink{st: st, slots: make([]tick.Event, claimBatch)}
	}
	open := func(string) (feed.Sink, error) { return sink, nil }
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
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
	}
	b.ReportMetric(float64(trades)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReplayMax plays a native capture at max speed through the engine
// (engine.Step, one core).
func BenchmarkReplayMax(b *testing.B) { benchReplay(b, true) }

// BenchmarkReplayMaxDecodeOnly is the baseline without the engine: capture
// read + decode.
func BenchmarkReplayMaxDecodeOnly(b *testing.B) { benchReplay(b, false) }

// BenchmarkRecordingCost is the live path of one source on one core: 64 KiB
// reads of a native stream decoded into an engine.Step (every statistic,
// the default rules), without and with a Recorder taking each read as
// `tickd serve -record` does (its writer goroutine writing a real file
// beside it). The ratio of the two is what recording costs the engine.
// The recorder borrows the reads as the pump lends them (feed.LendingTap):
// the pump rotates through its read buffers, waiting for the recorder to
// return one before reading into it again.
func BenchmarkRecordingCost(b *testing.B) {
	const trades = 200_000
	path, size := benchCapture(b, trades)
	var stream []byte
	r, _, err := OpenCapture(path, OpenOptions{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	var reads [][]byte
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind == KindData {
			stream = append(stream, rec.Bytes...)
			reads = append(reads, stream[len(stream)-len(rec.Bytes):])
		}
	}
	r.Close()
	for _, record := range []bool{false, true} {
		name := "engine"
		if record {
			name = "engine+recorder"
		}
		b.Run(name, func(b *testing.B) {
			var rec *Recorder
			if record {
				var err error
				if rec, err = NewRecorder(RecorderOptions{Dir: b.TempDir(), Format: "native", Sync: SyncPolicy{Every: -1}}); err != nil {
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
				rec.Open(1, "bench")
			}
			syms := tick.NewSymbolTable(1024)
			st, err := engine.NewStep(engine.Config{Rules: engine.DefaultRules()}, syms)
			if err != nil {
				b.Fatal(err)
			}
			slots := make([]tick.Event, claimBatch)
			buf := make([]byte, 0, 2<<20) // a read's leftover + the next read, as the pump keeps them
			ring := &lendRing{rec: rec}   // with the recorder: the pump's read buffers
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				dec, err := feed.NewDecoder("bench", 1, feed.Options{Symbols: syms})
				if err != nil {
					b.Fatal(err)
				}
				rest := buf[:0]
				for _, chunk := range reads {
					var src []byte
					if rec != nil {
						src = ring.read(rest, chunk)
					} else {
						src = append(rest, chunk...) // the read, into the pump's buffer
					}
					for {
						n, used, err := dec.Decode(slots, src)
						if err != nil {
							b.Fatal(err)
						}
						st.Process(slots[:n], nil)
						src = src[used:]
						if n < len(slots) {
							break
						}
					}
					if rec != nil {
						rest = src
					} else {
						rest = buf[:copy(buf[:cap(buf)], src)]
					}
				}
			}
			b.StopTimer() // the recorder's final drain to disk is not the engine's time
			if rec != nil {
				b.ReportMetric(float64(rec.Stalls())/float64(b.N), "stalls/op")
			}
			b.ReportMetric(float64(trades)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// lendRing is the read buffers of a feed pump lending to a Recorder
// (feed's pump.nextBuffer): the leftover of a read and the next read go to
// the current buffer if the recorder has returned it, else to the next in
// turn, a new one while that is still lent and there are fewer than 32, or
// the next once it is returned. read returns the leftover and the read,
// the read lent.
type lendRing struct {
	rec     *Recorder
	bufs    [][]byte
	tickets []uint64
	cur     int
}

func (l *lendRing) read(rest, chunk []byte) []byte {
	if l.bufs == nil {
		l.bufs, l.tickets = make([][]byte, 1, 32), make([]uint64, 1, 32)
		l.bufs[0] = make([]byte, 64<<10+4096)
	}
	if !l.rec.Returned(l.tickets[l.cur]) {
		next := (l.cur + 1) % len(l.bufs)
		if !l.rec.Returned(l.tickets[next]) && len(l.bufs) < cap(l.bufs) {
			next = l.cur + 1
			l.bufs = slices.Insert(l.bufs, next, make([]byte, 64<<10+4096))
			l.tickets = slices.Insert(l.tickets, next, 0)
		}
		l.rec.WaitReturned(l.tickets[next])
		l.cur = next
	}
	n := copy(l.bufs[l.cur], rest)
	src := append(l.bufs[l.cur][:n], chunk...)
	if t := l.rec.Lend(1, 0, src[n:]); t != 0 {
		l.tickets[l.cur] = t
	}
	return src
}
