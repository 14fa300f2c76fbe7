package feed

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tickd/tickd/tick"
)

// nativeStream is a connection's worth of frames: every type, two symbols.
func nativeStream() []byte {
	var b []byte
	b = AppendHello(b, 1)
	b = AppendSymbol(b, 2, 0, "AAPL")
	b = AppendSymbol(b, 3, 5, "MSFT")
	b = AppendTrade(b, 4, 0, 1_700_000_000_000_000_001, 189_250_000_000, 100, tick.SideBuy)
	b = AppendHeartbeat(b, 5)
	b = AppendTrade(b, 6, 5, 1_700_000_000_000_000_002, 370_100_000_000, 5, tick.SideNone)
	b = AppendTrade(b, 7, 0, 1_700_000_000_000_000_003, 1, 1, tick.SideSell)
	b = AppendEnd(b, 8, 1_700_000_000_000_000_004)
	return b
}

func wantNativeEvents(syms *tick.SymbolTable) []tick.Event {
	aapl, _ := syms.LookupString("AAPL")
	msft, _ := syms.LookupString("MSFT")
	return []tick.Event{
		{Seq: 4, TsEvent: 1_700_000_000_000_000_001, TsRecv: 99, Price: 189_250_000_000, Qty: 100, Symbol: aapl, Kind: tick.KindTrade, Side: tick.SideBuy, Source: 7},
		{Seq: 6, TsEvent: 1_700_000_000_000_000_002, TsRecv: 99, Price: 370_100_000_000, Qty: 5, Symbol: msft, Kind: tick.KindTrade, Source: 7},
		{Seq: 7, TsEvent: 1_700_000_000_000_000_003, TsRecv: 99, Price: 1, Qty: 1, Symbol: aapl, Kind: tick.KindTrade, Side: tick.SideSell, Source: 7},
		{Seq: 8, TsEvent: 1_700_000_000_000_000_004, TsRecv: 99, Kind: tick.KindEndOfStream, Source: 7},
	}
}

func TestNativeFrameSizes(t *testing.T) {
	for _, c := range []struct {
		frame []byte
		size  int
	}{
		{AppendHello(nil, 1), 17},
		{AppendSymbol(nil, 1, 0, "A"), 16},
		{AppendSymbol(nil, 1, 0, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"), 47},
		{AppendTrade(nil, 1, 0, 0, 1, 1, 0), TradeFrameSize},
		{AppendHeartbeat(nil, 1), 11},
		{AppendEnd(nil, 1, 0), 19},
	} {
		if len(c.frame) != c.size || int(binary.LittleEndian.Uint16(c.frame)) != c.size-2 {
			t.Errorf("type %d: %d bytes, prefix %d, want %d", c.frame[2], len(c.frame), binary.LittleEndian.Uint16(c.frame), c.size)
		}
	}
	if TradeFrameSize != 40 {
		t.Errorf("TradeFrameSize %d", TradeFrameSize)
	}
}

func TestNativeRoundTrip(t *testing.T) {
	for _, claim := range []int{1, 2, 64} {
		var rs reports
		d := newTestDecoder(t, FormatNative, &rs, nil)
		d.SetRecvTime(99)
		src := nativeStream()
		orig := bytes.Clone(src)
		got, err := decodeAll(t, d, claim, src)
		if err != nil {
			t.Fatal(err)
		}
		if want := wantNativeEvents(d.syms); !reflect.DeepEqual(got, want) {
			t.Fatalf("claim %d:\n got %+v\nwant %+v", claim, got, want)
		}
		if !bytes.Equal(src, orig) {
			t.Fatal("decoder wrote into its input")
		}
		st := d.Stats()
		if st.Frames != 8 || st.Events != 4 || st.Errors != 0 || st.Gaps != 0 || len(rs.list()) != 0 {
			t.Fatalf("stats %+v, reports %v", st, rs.list())
		}
		if d.Offset() != int64(len(src)) {
			t.Fatalf("offset %d, want %d", d.Offset(), len(src))
		}
	}
}

func TestNativeEncoder(t *testing.T) {
	var e NativeEncoder
	var b []byte
	b = e.Hello(b)
	b = e.Trade(b, "AAPL", 10, 5, 1, tick.SideBuy)
	b = e.Trade(b, "MSFT", 11, 6, 2, tick.SideSell)
	b = e.Trade(b, "AAPL", 12, 7, 3, tick.SideNone)
	b = e.Heartbeat(b)
	b = e.End(b, 13)
	if e.Seq() != 8 {
		t.Fatalf("seq %d", e.Seq())
	}
	var rs reports
	d := newTestDecoder(t, FormatNative, &rs, nil)
	got, err := decodeAll(t, d, 16, b)
	if err != nil || len(got) != 4 || len(rs.list()) != 0 {
		t.Fatalf("%d events, %v, %v", len(got), err, rs.list())
	}
	if d.syms.Name(got[2].Symbol) != "AAPL" || got[1].Price != 6 || got[3].Kind != tick.KindEndOfStream {
		t.Fatalf("events %+v", got)
	}
}

// frame builds a raw frame: prefix = 9 + len(body) unless length >= 0.
func frame(length int, typ byte, seq uint64, body ...byte) []byte {
	if length < 0 {
		length = 9 + len(body)
	}
	b := binary.LittleEndian.AppendUint16(nil, uint16(length))
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint64(b, seq)
	return append(b, body...)
}

func TestNativeBadFrames(t *testing.T) {
	trade := func(seq uint64, local uint32, px, qty int64, side byte) []byte {
		b := AppendTrade(nil, seq, local, 1, tick.Price(px), qty, 0)
		b[39] = side
		return b
	}
	hello := AppendHello(nil, 2)
	badMagic := bytes.Clone(hello)
	badMagic[11] = 'X'
	cases := []struct {
		name  string
		frame []byte
		want  Reason
	}{
		{"unknown type", frame(-1, 9, 2, 1, 2, 3), ReasonUnknownType},
		{"type zero", frame(-1, 0, 2), ReasonUnknownType},
		{"heartbeat too long", frame(-1, TypeHeartbeat, 2, 0), ReasonBadLength},
		{"trade too short", append([]byte{37}, AppendTrade(nil, 2, 0, 1, 1, 1, 0)[1:39]...), ReasonBadLength},
		{"hello too short", frame(-1, TypeHello, 2, 'T', 'K'), ReasonBadLength},
		{"end too long", frame(-1, TypeEnd, 2, make([]byte, 9)...), ReasonBadLength},
		{"symbol without name", frame(-1, TypeSymbol, 2, 0, 0, 0, 0), ReasonBadLength},
		{"bad magic", badMagic, ReasonBadMagic},
		{"unknown local", trade(2, 3, 1, 1, 0), ReasonUnknownSymbol},
		{"zero price", trade(2, 0, 0, 1, 0), ReasonPriceNotPositive},
		{"negative price", trade(2, 0, -5, 1, 0), ReasonPriceNotPositive},
		{"zero qty", trade(2, 0, 1, 0, 0), ReasonBadQty},
		{"negative qty", trade(2, 0, 1, -1, 0), ReasonBadQty},
		{"qty above MaxQty", trade(2, 0, 1, tick.MaxQty+1, 0), ReasonBadQty}, // two near 2^62 wrap a bar's volume
		{"qty 2^62", trade(2, 0, 1, 1<<62, 0), ReasonBadQty},
		{"bad side", trade(2, 0, 1, 1, 3), ReasonBadSide},
		{"invalid name", AppendSymbol(nil, 2, 1, "AB "), ReasonBadSymbol},
		{"local out of range", AppendSymbol(nil, 2, maxLocalSymbols, "AB"), ReasonBadSymbol},
		{"table full", AppendSymbol(nil, 2, 1, "ZZZ"), ReasonSymbolTableFull},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Hello, Symbol, <bad>, then a good trade: the bad frame is
			// counted and reported, the trade after it still decodes.
			var src []byte
			src = AppendHello(src, 1)
			src = AppendSymbol(src, 2, 0, "AAPL")
			badAt := int64(len(src))
			src = append(src, c.frame...)
			src = AppendSymbol(src, 4, 0, "AAPL")
			src = AppendTrade(src, 5, 0, 5, 6, 7, tick.SideBuy)
			renumber(src)
			var rs reports
			d := newTestDecoder(t, FormatNative, &rs, func(o *Options) {
				o.Symbols = tick.NewSymbolTable(1)
			})
			got, err := decodeAll(t, d, 4, src)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Qty != 7 || got[0].Seq != 5 {
				t.Fatalf("good trade after the bad frame: %+v", got)
			}
			st := d.Stats()
			if st.Errors != 1 || st.ByReason[c.want] != 1 || st.Gaps != 0 || st.Frames != 5 {
				t.Fatalf("stats %+v", st)
			}
			r := rs.list()
			if len(r) != 1 || !errors.Is(r[0].err, c.want) || r[0].offset != badAt || r[0].source != "test" {
				t.Fatalf("reports %v, want %v at %d", r, c.want, badAt)
			}
			if c.frame[0] >= 9 && r[0].seq != 3 { // frames with a header report their seq
				t.Fatalf("report seq %d, want 3", r[0].seq)
			}
		})
	}
}

// renumber rewrites the seq of every frame in src to 1, 2, 3, ...
func renumber(src []byte) {
	seq := uint64(1)
	for off := 0; off+2 <= len(src); {
		l := int(binary.LittleEndian.Uint16(src[off:]))
		if l >= 9 {
			binary.LittleEndian.PutUint64(src[off+3:], seq)
		}
		seq++
		off += 2 + l
	}
}

func TestNativeShortFrame(t *testing.T) {
	// A frame too short for a header (len 0 and len 4) is skipped by its
	// length without touching the sequence.
	var src []byte
	src = AppendHello(src, 1)
	src = append(src, 0, 0)
	src = append(src, 4, 0, TypeTrade, 1, 2, 3)
	src = AppendSymbol(src, 2, 0, "A")
	src = AppendTrade(src, 3, 0, 1, 1, 1, 0)
	var rs reports
	d := newTestDecoder(t, FormatNative, &rs, nil)
	got, err := decodeAll(t, d, 8, src)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if st := d.Stats(); st.ByReason[ReasonBadLength] != 2 || st.Gaps != 0 {
		t.Fatalf("stats %+v, reports %v", st, rs.list())
	}
}

func TestNativeNoHello(t *testing.T) {
	var src []byte
	src = AppendSymbol(src, 1, 0, "A")
	src = AppendTrade(src, 2, 0, 1, 1, 1, 0)
	src = AppendTrade(src, 3, 0, 1, 1, 1, 0)
	var rs reports
	d := newTestDecoder(t, FormatNative, &rs, nil)
	got, _ := decodeAll(t, d, 8, src)
	if len(got) != 2 || d.Stats().ByReason[ReasonNoHello] != 1 || d.Stats().Errors != 1 {
		t.Fatalf("%d events, stats %+v", len(got), d.Stats())
	}
	// A trade as the very first frame is reported and still decoded.
	d = newTestDecoder(t, FormatNative, &rs, nil)
	d.local = append(d.local, 0)
	got, _ = decodeAll(t, d, 8, AppendTrade(nil, 1, 0, 1, 1, 1, 0))
	if len(got) != 1 || d.Stats().ByReason[ReasonNoHello] != 1 {
		t.Fatalf("%d events, stats %+v", len(got), d.Stats())
	}
}

func TestNativeGaps(t *testing.T) {
	var src []byte
	src = AppendHello(src, 1)
	src = AppendSymbol(src, 2, 0, "A")
	src = AppendTrade(src, 5, 0, 1, 1, 1, 0)  // gap: expected 3
	src = AppendHeartbeat(src, 6)             //
	src = AppendTrade(src, 4, 0, 1, 1, 1, 0)  // back: expected 7
	src = AppendTrade(src, 5, 0, 1, 1, 1, 0)  // continues from 4
	src = AppendTrade(src, 10, 0, 1, 1, 1, 0) // gap: expected 6
	st, rs := decodeNativeEvents(t, src, 4)
	if st.Gaps != 3 || st.Missed != 2+4 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
	var gaps []GapError
	for _, r := range rs.list() {
		var g *GapError
		if !errors.As(r.err, &g) || r.seq != g.Got {
			t.Fatalf("report %v", r)
		}
		gaps = append(gaps, *g)
	}
	want := []GapError{{3, 5}, {7, 4}, {6, 10}}
	if !reflect.DeepEqual(gaps, want) {
		t.Fatalf("gaps %v, want %v", gaps, want)
	}
	if rs.list()[0].offset != int64(len(AppendHello(nil, 1))+len(AppendSymbol(nil, 2, 0, "A"))) {
		t.Fatalf("gap offset %d", rs.list()[0].offset)
	}
}

// TestNativeOtherVersionEndsStream: a Hello of a format version this
// decoder does not speak ends the stream before any frame after it is read
// with this version's layouts, with an error naming both versions.
func TestNativeOtherVersionEndsStream(t *testing.T) {
	var enc NativeEncoder
	src := enc.Hello(nil)
	src = enc.Trade(src, "AAPL", 1, 5, 7, tick.SideBuy)
	src = enc.End(src, 2)
	for _, v := range []uint16{0, FormatVersion + 1, 0xffff} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			b := bytes.Clone(src)
			binary.LittleEndian.PutUint16(b[15:], v)
			var rs reports
			d := newTestDecoder(t, FormatNative, &rs, nil)
			got, err := decodeAll(t, d, 4, b)
			var ve *VersionError
			if !errors.As(err, &ve) || ve.Version != v || ve.Offset != 0 || len(got) != 0 {
				t.Fatalf("%d events, err %v; want none and a *VersionError for version %d", len(got), err, v)
			}
			want := fmt.Sprintf("feed: test: offset 0: native format version %d, this decoder reads version %d only", v, FormatVersion)
			if !strings.HasPrefix(err.Error(), want) || !EndsStream(err) {
				t.Fatalf("error %q, want it to start %q", err, want)
			}
			if _, _, err2 := d.Decode(make([]tick.Event, 4), b[17:]); err2 != err {
				t.Fatalf("later Decode: %v", err2)
			}
			r := rs.list()
			if len(r) != 1 || r[0].err != error(ve) || d.Stats().ByReason[ReasonVersion] != 1 || d.Stats().Errors != 1 {
				t.Fatalf("reports %v, stats %+v", r, d.Stats())
			}
		})
	}
}

func TestNativeOversize(t *testing.T) {
	var src []byte
	src = AppendHello(src, 1)
	src = AppendSymbol(src, 2, 0, "A")
	src = AppendTrade(src, 3, 0, 1, 1, 1, 0)
	at := len(src)
	src = append(src, 0xff, 0xff, TypeTrade) // 65535 > MaxFrame, and never arrives whole
	src = AppendTrade(src, 4, 0, 1, 1, 1, 0)
	var rs reports
	d := newTestDecoder(t, FormatNative, &rs, nil)
	got, err := decodeAll(t, d, 8, src)
	if !errors.Is(err, ReasonFrameTooLarge) || len(got) != 1 {
		t.Fatalf("%d events, err %v", len(got), err)
	}
	if _, _, err2 := d.Decode(make([]tick.Event, 1), src[at:]); err2 != err {
		t.Fatalf("later Decode: %v", err2)
	}
	r := rs.list()
	if len(r) != 1 || r[0].offset != int64(at) || d.Stats().ByReason[ReasonFrameTooLarge] != 1 {
		t.Fatalf("reports %v", r)
	}
	// No allocation sized by the bogus length: the check is a compare.
	d = newTestDecoder(t, FormatNative, nil, nil)
	bogus := []byte{0xff, 0xff}
	if a := testing.AllocsPerRun(10, func() { d.Reset(); d.Decode(nil, bogus) }); a > 1 {
		t.Fatalf("%v allocs for an oversized prefix", a)
	}
}

func TestNativeTruncated(t *testing.T) {
	src := AppendHello(nil, 1)
	src = AppendHeartbeat(src, 2)
	src = src[:len(src)-3]
	var rs reports
	d := newTestDecoder(t, FormatNative, &rs, nil)
	if _, err := decodeAll(t, d, 8, src); err != nil {
		t.Fatal(err)
	}
	if d.Stats().ByReason[ReasonTruncated] != 1 || rs.list()[0].offset != 17 {
		t.Fatalf("stats %+v, reports %v", d.Stats(), rs.list())
	}
}

func TestNativeSplitEveryPoint(t *testing.T) {
	src := nativeStream()
	// A bad frame and a gap in the middle, to split reports too.
	src = append(src, frame(-1, 9, 9, 1, 2)...)
	src = AppendTrade(src, 20, 0, 1, 2, 3, tick.SideBuy)
	whole, wholeReports, wholeStats := splitDecode(t, FormatNative, 4, src)
	for k := 0; k <= len(src); k++ {
		got, r, st := splitDecode(t, FormatNative, 3, src[:k], src[k:])
		if !reflect.DeepEqual(got, whole) || !reflect.DeepEqual(r, wholeReports) || st != wholeStats {
			t.Fatalf("split at %d:\n got %v %v\nwant %v %v", k, got, r, whole, wholeReports)
		}
	}
	got, r, _ := splitDecode(t, FormatNative, 1, bytesOneByOne(src)...)
	if !reflect.DeepEqual(got, whole) || !reflect.DeepEqual(r, wholeReports) {
		t.Fatal("byte-by-byte differs")
	}
}

// splitDecode decodes chunks with a fresh decoder and returns the events,
// the reports (as strings) and the stats.
func splitDecode(t testing.TB, f Format, claim int, chunks ...[]byte) ([]tick.Event, []string, Stats) {
	t.Helper()
	var rs reports
	d := newTestDecoder(t, f, &rs, func(o *Options) { o.MaxFrame = 128 })
	got, err := decodeAll(t, d, claim, chunks...)
	var r []string
	for _, x := range rs.list() {
		r = append(r, x.String())
	}
	if err != nil {
		r = append(r, "fatal: "+err.Error())
	}
	return got, r, d.Stats()
}

func bytesOneByOne(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// TestNativeMalformedFrameSeq: a frame rejected as malformed keeps its
// garbage sequence out of the gap counters (QA: one unknown-type frame
// with seq 2^62 added 2^62 to Missed). Its sequence counts only when it is
// the one due.
func TestNativeMalformedFrameSeq(t *testing.T) {
	const ts = 1_767_364_200_000_000_000
	var src []byte
	src = AppendHello(src, 1)
	src = AppendSymbol(src, 2, 0, "GAPX")
	src = AppendTrade(src, 3, 0, ts, 100, 1, tick.SideBuy)
	src = append(src, frame(-1, 99, 1<<62)...) // unknown type, garbage seq
	src = AppendTrade(src, 5, 0, ts+1, 100, 1, tick.SideBuy)
	src = AppendTrade(src, 6, 0, ts+2, 100, 1, tick.SideBuy)
	src = append(src, frame(-1, TypeHeartbeat, 7, 0)...) // wrong length, the seq due
	src = AppendTrade(src, 8, 0, ts+3, 100, 1, tick.SideBuy)
	st, _ := decodeNativeEvents(t, src, 4)
	if st.Gaps != 1 || st.Missed != 1 {
		t.Fatalf("gaps %d, missed %d; want 1 and 1 (seq 4 never arrived whole)", st.Gaps, st.Missed)
	}
	if st.ByReason[ReasonUnknownType] != 1 || st.ByReason[ReasonBadLength] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// decodeNativeEvents decodes src with a fresh native decoder, checks that
// it gives n events, and returns the decoder's counters and reports.
func decodeNativeEvents(t *testing.T, src []byte, n int) (Stats, *reports) {
	t.Helper()
	rs := new(reports)
	d := newTestDecoder(t, FormatNative, rs, nil)
	got, err := decodeAll(t, d, 8, src)
	if err != nil || len(got) != n {
		t.Fatalf("%d events, %v", len(got), err)
	}
	return d.Stats(), rs
}

// TestNativeTextStreamHint: a stream that starts with text where native
// frames were expected (a CSV or JSON feed sent to a native listener) loses
// its framing at offset 0, and the error says what it looks like; a bad
// length elsewhere, or binary, says nothing more.
func TestNativeTextStreamHint(t *testing.T) {
	hint := ": a CSV or JSON feed? (-feed-format csv|json)"
	for _, c := range []struct {
		src, want string
	}{
		{"ts,symbol,price,size,side\n1,A,1,1\n", `it starts with text, "ts": a CSV or JSON feed?`},
		{`{"ts":1,"symbol":"A","price":"1","size":1}` + "\n", `it starts with text, "{\"": a CSV or JSON feed?`},
		{"1767364200000000000,A,1,1\r\n", `it starts with text, "17": a CSV or JSON feed?`},
		{"\xff\xff binary", ""},
		{string(AppendHello(nil, 1)) + "ts,symbol,price,size\n", ""},
	} {
		d := newTestDecoder(t, FormatNative, nil, nil)
		_, err := decodeAll(t, d, 4, []byte(c.src))
		var fe *FrameTooLargeError
		if !errors.As(err, &fe) {
			t.Fatalf("%q: %v", c.src, err)
		}
		if got := err.Error(); c.want == "" && strings.Contains(got, hint) || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%q: %s", c.src, got)
		}
	}
}

// TestNativeMaxFrameBoundary: a length prefix of exactly MaxFrame is a frame
// like any other (here one of an unknown type, skipped, the stream going on);
// one byte more ends the stream.
func TestNativeMaxFrameBoundary(t *testing.T) {
	const maxFrame = 128 // splitDecode's
	stream := func(l int) []byte {
		src := AppendHello(nil, 1)
		src = append(src, frame(l, 99, 2, make([]byte, l-9)...)...)
		src = AppendSymbol(src, 3, 0, "EDGE")
		return AppendTrade(src, 4, 0, 1_767_364_200_000_000_000, 100, 1, tick.SideBuy)
	}
	got, r, st := splitDecode(t, FormatNative, 4, stream(maxFrame))
	if len(got) != 1 || st.ByReason[ReasonUnknownType] != 1 || st.ByReason[ReasonFrameTooLarge] != 0 {
		t.Fatalf("a frame of MaxFrame bytes: %d events, reports %v", len(got), r)
	}
	got, r, st = splitDecode(t, FormatNative, 4, stream(maxFrame+1))
	if len(got) != 0 || st.ByReason[ReasonFrameTooLarge] != 1 {
		t.Fatalf("a frame of MaxFrame+1 bytes: %d events, reports %v", len(got), r)
	}
}
