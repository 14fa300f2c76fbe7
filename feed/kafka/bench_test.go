package kafka

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// discardSink hands out the same slots and counts what is committed.
type discardSink struct {
	slots []tick.Event
	n     int64
}

// benchSlots is as many slots as a source claims at once.
const benchSlots = 256

func (s *discardSink) Claim(n int) []tick.Event      { return s.slots[:min(n, len(s.slots))] }
func (s *discardSink) Commit(k int)                  { s.n += int64(k) }
func (s *discardSink) Close()                        {}
func (s *discardSink) Committed(dst []int64) []int64 { return append(dst, s.n) }
func (s *discardSink) Consumed([]int64) bool         { return true }

// BenchmarkDecodeRecord is the per-record work of the poll loop (decoder
// reset, claim, decode, commit, bad-record check) on a record of 16 trades,
// without Kafka. It must not allocate.
// recordValue is one record's value: trades AAPL trades in format (native
// starting with its Hello and symbol definition).
func recordValue(format feed.Format, trades int) []byte {
	var v []byte
	if format == feed.FormatNative {
		v = feed.AppendHello(v, 1)
		v = feed.AppendSymbol(v, 2, 0, "AAPL")
	}
	for i := range trades {
		ts, price := int64(1_700_000_000_000_000_000+i), tick.Price(189_250_000_000+int64(i))
		switch format {
		case feed.FormatNative:
			v = feed.AppendTrade(v, uint64(3+i), 0, ts, price, 100, tick.SideBuy)
		case feed.FormatCSV:
			v = feed.AppendCSV(v, ts, "AAPL", price, 100, tick.SideBuy)
		default:
			v = feed.AppendJSON(v, ts, "AAPL", price, 100, tick.SideBuy)
		}
	}
	return v
}

func BenchmarkDecodeRecord(b *testing.B) {
	const trades = 16
	for _, format := range []feed.Format{feed.FormatNative, feed.FormatCSV, feed.FormatJSON} {
		b.Run(format.String(), func(b *testing.B) {
			v := recordValue(format, trades)
			sink := &discardSink{slots: make([]tick.Event, benchSlots)}
			open := func(string) (Sink, error) { return sink, nil }
			cfg := Config{Brokers: []string{"127.0.0.1:9092"}, Topic: "bench", Format: format}
			s, err := New(cfg, open, func(context.Context) error { return nil }, feed.Options{Symbols: tick.NewSymbolTable(16)})
			if err != nil {
				b.Fatal(err)
			}
			s.assigned(context.Background(), nil, map[string][]int32{"bench": {0}})
			p := s.parts[0]
			rec := &kgo.Record{Value: v}
			b.ReportAllocs()
			b.SetBytes(int64(len(v)))
			for b.Loop() {
				s.decode(p, rec, 1)
			}
			if sink.n != int64(b.N)*trades || s.BadRecords() != 0 {
				b.Fatalf("%d events for %d records, %d bad", sink.n, b.N, s.BadRecords())
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*trades), "ns/event")
		})
		// Baseline: the same bytes through a bare feed.Decoder into a slice,
		// the floor the per-record work (reset, claim, commit, counters)
		// sits on.
		b.Run(format.String()+"/bare-decoder", func(b *testing.B) {
			v := recordValue(format, trades)
			dec, err := feed.NewDecoder("bench", 1, feed.Options{Format: format, Symbols: tick.NewSymbolTable(16)})
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]tick.Event, benchSlots)
			b.ReportAllocs()
			b.SetBytes(int64(len(v)))
			n := 0
			for b.Loop() {
				dec.Reset()
				k, _, _ := dec.Decode(dst, v)
				n += k
			}
			if n != b.N*trades {
				b.Fatalf("%d events for %d records", n, b.N)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*trades), "ns/event")
		})
	}
}
