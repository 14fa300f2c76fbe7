package feed

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/tickd/tickd/tick"
)

// Sinks the compiler cannot see through.
var (
	sinkN     int
	sinkEvent tick.Event
)

const benchFrames = 4096

var benchSymbols = []string{"AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "BRK.B"}

// benchNative is a session prefix (hello and symbol frames) and the trade
// frames after it.
func benchNative() (prefix, trades []byte) {
	prefix = AppendHello(nil, 1)
	for i, s := range benchSymbols {
		prefix = AppendSymbol(prefix, uint64(i+2), uint32(i), s)
	}
	seq := uint64(len(benchSymbols) + 2)
	for i := range benchFrames {
		trades = AppendTrade(trades, seq, uint32(i%len(benchSymbols)), 1_700_000_000_000_000_000+int64(i),
			tick.Price(189_250_000_000+i*10_000_000), int64(1+i%500), tick.Side(i%3))
		seq++
	}
	return prefix, trades
}

// BenchmarkDecodeNative decodes one Trade frame per op into 256-slot claims.
func BenchmarkDecodeNative(b *testing.B) {
	prefix, trades := benchNative()
	d := newTestDecoder(b, FormatNative, nil, nil)
	dst := make([]tick.Event, 256)
	buf := append(bytes.Clone(prefix), trades...)
	b.SetBytes(TradeFrameSize)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(b.N-done, benchFrames)
		src := buf[:len(prefix)+k*TradeFrameSize]
		d.Reset()
		for len(src) > 0 {
			n, c, _ := d.Decode(dst, src)
			src = src[c:]
			done += n
		}
	}
	sinkEvent = dst[0]
	if d.Stats().Errors != 0 || d.Stats().Gaps != 0 {
		b.Fatalf("stats %+v", d.Stats())
	}
}

// tradeRecord is the Trade frame as a struct, for encoding/binary.Read.
type tradeRecord struct {
	Len     uint16
	Type    uint8
	Seq     uint64
	Local   uint32
	TsEvent int64
	Price   int64
	Qty     int64
	Side    uint8
}

// BenchmarkDecodeNativeBaseline: the naive way, binary.Read into a struct.
func BenchmarkDecodeNativeBaseline(b *testing.B) {
	_, trades := benchNative()
	locals := make([]tick.SymbolID, len(benchSymbols))
	r := bytes.NewReader(trades)
	var rec tradeRecord
	b.SetBytes(TradeFrameSize)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := binary.Read(r, binary.LittleEndian, &rec); err == io.EOF {
			r.Reset(trades)
			binary.Read(r, binary.LittleEndian, &rec)
		}
		sinkEvent = tick.Event{Seq: rec.Seq, TsEvent: rec.TsEvent, Price: tick.Price(rec.Price), Qty: rec.Qty,
			Symbol: locals[rec.Local], Kind: tick.KindTrade, Side: tick.Side(rec.Side)}
	}
}

func benchLines(f Format) ([]byte, int) {
	var buf []byte
	for i := range benchFrames {
		ts := int64(1_700_000_000_000_000_000 + i)
		sym, px, qty, side := benchSymbols[i%len(benchSymbols)], tick.Price(189_250_000_000+i*10_000_000), int64(1+i%500), tick.Side(i%3)
		if f == FormatCSV {
			buf = AppendCSV(buf, ts, sym, px, qty, side)
		} else {
			buf = AppendJSON(buf, ts, sym, px, qty, side)
		}
	}
	return buf, len(buf) / benchFrames
}

// benchText decodes one line per op.
func benchText(b *testing.B, f Format) {
	buf, per := benchLines(f)
	lineEnds := make([]int, 0, benchFrames)
	for i, c := range buf {
		if c == '\n' {
			lineEnds = append(lineEnds, i+1)
		}
	}
	d := newTestDecoder(b, f, nil, nil)
	for _, s := range benchSymbols {
		d.syms.Intern(s)
	}
	dst := make([]tick.Event, 256)
	b.SetBytes(int64(per))
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(b.N-done, benchFrames)
		src := buf[:lineEnds[k-1]]
		for len(src) > 0 {
			n, c, _ := d.Decode(dst, src)
			src = src[c:]
			done += n
		}
	}
	sinkEvent = dst[0]
	if d.Stats().Errors != 0 {
		b.Fatalf("stats %+v", d.Stats())
	}
}

func BenchmarkDecodeCSV(b *testing.B)  { benchText(b, FormatCSV) }
func BenchmarkDecodeJSON(b *testing.B) { benchText(b, FormatJSON) }

// BenchmarkDecodeCSVBaseline: the naive way, strings.Split + strconv.
func BenchmarkDecodeCSVBaseline(b *testing.B) {
	buf, per := benchLines(FormatCSV)
	lines := strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")
	syms := tick.NewSymbolTable(64)
	b.SetBytes(int64(per))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p := strings.Split(lines[i%len(lines)], ",")
		ts, err1 := strconv.ParseInt(p[0], 10, 64)
		px, err2 := strconv.ParseFloat(p[2], 64)
		qty, err3 := strconv.ParseInt(p[3], 10, 64)
		sym, err4 := syms.Intern(p[1])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			b.Fatal(p)
		}
		price, _ := tick.PriceFromFloat(px)
		side := tick.SideNone
		if len(p) > 4 && p[4] == "B" {
			side = tick.SideBuy
		} else if len(p) > 4 {
			side = tick.SideSell
		}
		sinkEvent = tick.Event{TsEvent: ts, Price: price, Qty: qty, Symbol: sym, Kind: tick.KindTrade, Side: side}
	}
}

type jsonTrade struct {
	Ts     int64       `json:"ts"`
	Symbol string      `json:"symbol"`
	Price  json.Number `json:"price"`
	Size   int64       `json:"size"`
	Side   string      `json:"side"`
}

// BenchmarkDecodeJSONBaseline: the naive way, encoding/json.Unmarshal.
func BenchmarkDecodeJSONBaseline(b *testing.B) {
	buf, per := benchLines(FormatJSON)
	lines := bytes.Split(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n"))
	syms := tick.NewSymbolTable(64)
	b.SetBytes(int64(per))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var t jsonTrade
		if err := json.Unmarshal(lines[i%len(lines)], &t); err != nil {
			b.Fatal(err)
		}
		px, err1 := tick.ParsePrice(t.Price.String())
		sym, err2 := syms.Intern(t.Symbol)
		if err1 != nil || err2 != nil {
			b.Fatal(err1, err2)
		}
		sinkEvent = tick.Event{TsEvent: t.Ts, Price: px, Qty: t.Size, Symbol: sym, Kind: tick.KindTrade}
	}
}

// BenchmarkEncode appends one trade per op in each format.
func BenchmarkEncode(b *testing.B) {
	for _, f := range []Format{FormatNative, FormatCSV, FormatJSON} {
		b.Run(f.String(), func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf = buf[:0]
				switch f {
				case FormatNative:
					buf = AppendTrade(buf, uint64(i), 3, 1_700_000_000_000_000_000, 189_250_000_000, 100, tick.SideBuy)
				case FormatCSV:
					buf = AppendCSV(buf, 1_700_000_000_000_000_000, "AAPL", 189_250_000_000, 100, tick.SideBuy)
				default:
					buf = AppendJSON(buf, 1_700_000_000_000_000_000, "AAPL", 189_250_000_000, 100, tick.SideBuy)
				}
			}
			b.SetBytes(int64(len(buf)))
			sinkN = len(buf)
		})
	}
}

// BenchmarkPumpNative is the whole per-read path of a source: stamp,
// claim, decode, commit, publish counters, for reads of 64 KiB.
func BenchmarkPumpNative(b *testing.B) { benchPumpNative(b, nil) }

// benchPumpNative runs BenchmarkPumpNative's loop with tap (nil: none).
func benchPumpNative(b *testing.B, tap Tap) {
	prefix, trades := benchNative()
	o, err := Options{Symbols: tick.NewSymbolTable(64), Tap: tap}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	s := &discardSink{slots: make([]tick.Event, maxClaim)}
	p := newPump("bench", s, &o)
	stream := append(bytes.Clone(prefix), bytes.Repeat(trades, 4)...)
	b.SetBytes(TradeFrameSize)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		p.restart()
		r := bytes.NewReader(stream[:len(prefix)+min(b.N-done, 4*benchFrames)*TradeFrameSize])
		for {
			n, err := r.Read(p.space())
			if n > 0 {
				p.ingest(n)
			}
			if err != nil {
				break
			}
		}
		done += min(b.N-done, 4*benchFrames)
	}
	sinkN = s.n
	if p.dec.stats.Errors != 0 {
		b.Fatal(fmt.Sprint(p.dec.stats))
	}
}

// discardSink counts committed events and drops them.
type discardSink struct {
	slots []tick.Event
	n     int
}

func (s *discardSink) Claim(n int) []tick.Event { return s.slots[:min(n, len(s.slots))] }
func (s *discardSink) Commit(k int)             { s.n += k }
func (s *discardSink) Close()                   {}
