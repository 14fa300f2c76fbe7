package feed

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/tickd/tickd/tick"
)

// skipByDecode is what skip did before skipLines: Decode every whole line
// (or frame) and keep nothing. It is the reference skip must agree with.
func skipByDecode(d *Decoder, src []byte) int {
	stats, onError := d.stats, d.onError
	d.onError = nil
	defer func() { d.stats, d.onError = stats, onError }()
	var discard [64]tick.Event
	consumed := 0
	for rest := src; d.ready(rest) && !d.framingLost(rest); rest = src[consumed:] {
		_, c, _ := d.Decode(discard[:], rest)
		if c == 0 {
			break
		}
		consumed += c
	}
	return consumed
}

// randomTextFile returns a text file of n lines in format f with what a
// real one may hold besides ticks: a BOM, CSV headers naming the columns in
// other orders (mid-file too), comments, blank and indented lines, CRLF
// endings, quoted fields, bad lines and lines longer than maxFrame.
func randomTextFile(r *rand.Rand, f Format, n, maxFrame int) string {
	var b strings.Builder
	if r.IntN(3) == 0 {
		b.WriteString(utf8BOM)
	}
	headers := []string{CSVHeader, "ts,symbol,size,price,side", "symbol,ts,price,size", " \"ts\",symbol,price,size,side"}
	for i := range n {
		eol := "\n"
		if r.IntN(8) == 0 {
			eol = "\r\n"
		}
		ts := 1_700_000_000_000_000_000 + int64(i)
		switch k := r.IntN(20); {
		case k == 0 && f == FormatCSV:
			b.WriteString(headers[r.IntN(len(headers))])
		case k == 1:
			b.WriteString("# a comment")
		case k == 2:
			b.WriteString(strings.Repeat(" ", r.IntN(3)))
		case k == 3:
			b.WriteString(strings.Repeat("9", maxFrame+r.IntN(3)))
		case k == 4:
			b.WriteString("not a tick")
		case f == FormatCSV:
			fmt.Fprintf(&b, "%d,S%d,%d.%02d,%d,B", ts, r.IntN(5), 1+r.IntN(100), r.IntN(100), 1+r.IntN(900))
		default:
			b.Write(AppendJSON(nil, ts, fmt.Sprintf("S%d", r.IntN(5)), tick.Price(1+r.IntN(1e6))*1e7, int64(1+r.IntN(900)), tick.SideSell))
			continue // AppendJSON ends the line
		}
		b.WriteString(eol)
	}
	return b.String()
}

// TestSkipMatchesDecode: skipping a text file's lines (Options.FromEnd)
// leaves the decoder as decoding them would: the offset, the line count,
// the CSV column order and an overlong line's state, so that the lines
// appended later decode to the same events with the same line numbers and
// reports. The file is read in chunks cut at random, as the tail reads it.
func TestSkipMatchesDecode(t *testing.T) {
	const maxFrame = 64
	for _, f := range []Format{FormatCSV, FormatJSON} {
		for seed := range uint64(200) {
			r := rand.New(rand.NewPCG(seed, 7))
			file := randomTextFile(r, f, 1+r.IntN(60), maxFrame)
			more := randomTextFile(r, f, 1+r.IntN(20), maxFrame)
			var got, want reports
			fast := newTestDecoder(t, f, &got, func(o *Options) { o.MaxFrame = maxFrame })
			ref := newTestDecoder(t, f, &want, func(o *Options) { o.MaxFrame = maxFrame })
			chunked(r, file, func(buf []byte) int {
				n := fast.skip(buf)
				if m := skipByDecode(ref, buf); m != n {
					t.Fatalf("%s seed %d: skip consumed %d of %q, Decode %d", f, seed, n, buf, m)
				}
				return n
			})
			if fast.off != ref.off || fast.line != ref.line || fast.cols != ref.cols || fast.skipping != ref.skipping {
				t.Fatalf("%s seed %d: after skip off %d line %d cols %v skipping %v; after Decode %d %d %v %v\n%q",
					f, seed, fast.off, fast.line, fast.cols, fast.skipping, ref.off, ref.line, ref.cols, ref.skipping, file)
			}
			if len(got.list()) != 0 || fast.Stats() != ref.Stats() || fast.Stats().Frames != 0 {
				t.Fatalf("%s seed %d: skip reported %v, stats %+v against %+v", f, seed, got.list(), fast.Stats(), ref.Stats())
			}
			// The symbol IDs differ (the reference interned the names it
			// skipped): compare the names.
			a, _ := decodeAll(t, fast, 64, []byte(more))
			b, _ := decodeAll(t, ref, 64, []byte(more))
			na, nb := symbolNames(fast, a), symbolNames(ref, b)
			if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(na, nb) || !reflect.DeepEqual(got.list(), want.list()) {
				t.Fatalf("%s seed %d: after the skip, events %v reports %v; want %v %v", f, seed, a, got.list(), b, want.list())
			}
		}
	}
}

// symbolNames returns the names of evs' symbols in d's table and zeroes
// their IDs.
func symbolNames(d *Decoder, evs []tick.Event) []string {
	names := make([]string, len(evs))
	for i := range evs {
		names[i], evs[i].Symbol = d.syms.Name(evs[i].Symbol), 0
	}
	return names
}

// chunked hands use the file a random number of bytes at a time, as a tail
// reads it into its buffer: use consumes some and the rest is passed again
// with the next bytes.
func chunked(r *rand.Rand, file string, use func([]byte) int) {
	var pending []byte
	for off := 0; off < len(file); {
		n := min(len(file)-off, 1+r.IntN(200))
		pending = append(pending, file[off:off+n]...)
		off += n
		pending = pending[use(pending):]
	}
}

// BenchmarkSkip is the start of a -feed-tail-from-end: the lines or
// frames a file already holds skipped (skip) against decoded and dropped
// (skipByDecode, what skip did for every format before skipLines). One op
// is one line or frame.
func BenchmarkSkip(b *testing.B) {
	const lines = 1 << 16
	var csv, native []byte
	var e NativeEncoder
	native = e.Hello(native)
	for i := range lines {
		ts, sym, px, qty := int64(1_700_000_000_000_000_000+i), fmt.Sprintf("S%d", i%300), 10+i%90, 100+i%9
		csv = fmt.Appendf(csv, "%d,%s,%d.25,%d,B\n", ts, sym, px, qty)
		native = e.Trade(native, sym, ts, tick.Price(px)*tick.PriceScale, int64(qty), tick.SideBuy)
	}
	for _, f := range []struct {
		format Format
		file   []byte
	}{{FormatCSV, csv}, {FormatNative, native}} {
		for _, c := range []struct {
			name string
			skip func(*Decoder, []byte) int
		}{{"skip", (*Decoder).skip}, {"decode", skipByDecode}} {
			b.Run(f.format.String()+"/"+c.name, func(b *testing.B) {
				d := newTestDecoder(b, f.format, nil, func(o *Options) { o.Symbols = tick.NewSymbolTable(1024) })
				b.SetBytes(int64(len(f.file)) / lines)
				b.ReportAllocs()
				for i := 0; i < b.N; i += lines {
					d.Reset()
					if n := c.skip(d, f.file); n != len(f.file) {
						b.Fatalf("consumed %d of %d", n, len(f.file))
					}
				}
			})
		}
	}
}
