package feed

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

type trade struct {
	ts    int64
	sym   string
	price tick.Price
	qty   int64
	side  tick.Side
}

var trades = []trade{
	{1_700_000_000_123_456_789, "AAPL", 189_250_000_000, 100, tick.SideBuy},
	{1_700_000_000_123_456_790, "MSFT", 370_100_000_000, 5, tick.SideNone},
	{1, "BRK.A", 612_345_678_912_345, 1, tick.SideSell},
	{-1_000, "X", 1, tick.MaxQty, tick.SideSell},
}

func encodeText(f Format, ts []trade) []byte {
	var b []byte
	if f == FormatCSV {
		b = AppendCSVHeader(b)
	}
	for _, t := range ts {
		if f == FormatCSV {
			b = AppendCSV(b, t.ts, t.sym, t.price, t.qty, t.side)
		} else {
			b = AppendJSON(b, t.ts, t.sym, t.price, t.qty, t.side)
		}
	}
	return b
}

func TestTextRoundTrip(t *testing.T) {
	for _, f := range []Format{FormatCSV, FormatJSON} {
		t.Run(f.String(), func(t *testing.T) {
			var rs reports
			d := newTestDecoder(t, f, &rs, nil)
			d.SetRecvTime(5)
			src := encodeText(f, trades)
			got, err := decodeAll(t, d, 3, src)
			if err != nil || len(rs.list()) != 0 || len(got) != len(trades) {
				t.Fatalf("%d events, %v, %v\n%s", len(got), err, rs.list(), src)
			}
			line := uint64(0)
			if f == FormatCSV {
				line = 1 // the header
			}
			for i, tr := range trades {
				e := got[i]
				want := tick.Event{Seq: line + uint64(i) + 1, TsEvent: tr.ts, TsRecv: 5, Price: tr.price, Qty: tr.qty,
					Symbol: e.Symbol, Kind: tick.KindTrade, Side: tr.side, Source: 7}
				if e != want || d.syms.Name(e.Symbol) != tr.sym {
					t.Errorf("event %d: %+v, want %+v (%s)", i, e, want, tr.sym)
				}
			}
			st := d.Stats()
			if st.Events != uint64(len(trades)) || st.Frames != line+uint64(len(trades)) || st.Errors != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestTextAccepts(t *testing.T) {
	const ns = int64(1_700_000_000_000_000_000) // 2023-11-14T22:13:20Z
	cases := []struct {
		f    Format
		line string
		want trade
	}{
		{FormatCSV, "1700000000000000000,AAPL,189.25,100", trade{ns, "AAPL", 189_250_000_000, 100, 0}},
		{FormatCSV, " 1700000000000000000 , AAPL ,\t189.25, 100 ,b\r", trade{ns, "AAPL", 189_250_000_000, 100, tick.SideBuy}},
		{FormatCSV, "2023-11-14T22:13:20Z,A,1,1,SELL", trade{ns, "A", 1e9, 1, tick.SideSell}},
		{FormatCSV, "2023-11-14T22:13:20.5Z,A,1,1,Buy", trade{ns + 5e8, "A", 1e9, 1, tick.SideBuy}},
		{FormatCSV, "2023-11-14t23:13:20.000000001+01:00,A,0.000000001,1,s", trade{ns + 1, "A", 1, 1, tick.SideSell}},
		{FormatCSV, "2023-11-14T21:43:20.1234567891-00:30,A,+2.50,1,", trade{ns + 123456789, "A", 2_500_000_000, 1, 0}},
		{FormatCSV, "1700000000000000000,A,1.000000000000,1", trade{ns, "A", 1e9, 1, 0}},
		{FormatCSV, `"2023-11-14T22:13:20Z", "AAPL" ,"189.25","100","B"`, trade{ns, "AAPL", 189_250_000_000, 100, tick.SideBuy}},
		{FormatCSV, `1700000000000000000,"BRK.A",1,1,""`, trade{ns, "BRK.A", 1e9, 1, 0}},
		{FormatJSON, `{"ts":1700000000000000000,"symbol":"AAPL","price":"189.25","size":100,"side":"B"}`, trade{ns, "AAPL", 189_250_000_000, 100, tick.SideBuy}},
		{FormatJSON, ` { "ts" : "2023-11-14T22:13:20Z" , "symbol" : "A" , "price" : 189.25 , "size" : "7" } `, trade{ns, "A", 189_250_000_000, 7, 0}},
		{FormatJSON, `{"ts":"1700000000000000000","symbol":"A","price":1,"size":1,"side":null}`, trade{ns, "A", 1e9, 1, 0}},
		{FormatJSON, `{"venue":"X\"}{,","ts":1700000000000000000,"meta":{"a":[1,{"b":"]}"}],"c":null},"symbol":"A","list":[],"price":"1","ok":true,"size":1,"side":"sell","n":-1.5e3}`, trade{ns, "A", 1e9, 1, tick.SideSell}},
		{FormatJSON, "{\"symbol\":\"A\",\"price\":\"0.1\",\"size\":3,\"ts\":1700000000000000000}\r", trade{ns, "A", 1e8, 3, 0}},
	}
	for _, c := range cases {
		var rs reports
		d := newTestDecoder(t, c.f, &rs, nil)
		got, _ := decodeAll(t, d, 2, []byte(c.line+"\n"))
		if len(got) != 1 {
			t.Errorf("%s %q: no event; %v", c.f, c.line, rs.list())
			continue
		}
		e := got[0]
		if g := (trade{e.TsEvent, d.syms.Name(e.Symbol), e.Price, e.Qty, e.Side}); g != c.want {
			t.Errorf("%s %q:\n got %+v\nwant %+v", c.f, c.line, g, c.want)
		}
	}
}

func TestTextSkips(t *testing.T) {
	src := "ts,symbol,price,size,side\n\n   \n# comment\n  # indented comment\r\nts,symbol,price,size\n\r\n\"ts\",\"symbol\",\"price\",\"size\"\n1,A,1,1\n"
	var rs reports
	d := newTestDecoder(t, FormatCSV, &rs, nil)
	got, _ := decodeAll(t, d, 4, []byte(src))
	if len(got) != 1 || got[0].Seq != 9 || len(rs.list()) != 0 || d.Stats().Frames != 9 {
		t.Fatalf("%+v %v %+v", got, rs.list(), d.Stats())
	}
	d = newTestDecoder(t, FormatJSON, &rs, nil)
	got, _ = decodeAll(t, d, 4, []byte("\n# c\n{\"ts\":1,\"symbol\":\"A\",\"price\":\"1\",\"size\":1}\n"))
	if len(got) != 1 || got[0].Seq != 3 || len(rs.list()) != 0 {
		t.Fatalf("%+v %v", got, rs.list())
	}
}

func TestTextReasons(t *testing.T) {
	long := strings.Repeat("x", 70)
	cases := []struct {
		f    Format
		line string
		want Reason
	}{
		{FormatCSV, "1,A,NaN,1", ReasonPriceNotFinite},
		{FormatCSV, "1,A,+Inf,1", ReasonPriceNotFinite},
		{FormatCSV, "1,A,-inf,1", ReasonPriceNotFinite},
		{FormatCSV, "1,A,-1.5,1", ReasonPriceNotPositive},
		{FormatCSV, "1,A,0,1", ReasonPriceNotPositive},
		{FormatCSV, "1,A,0.000,1", ReasonPriceNotPositive},
		{FormatCSV, "1,A,1.5e3,1", ReasonBadPrice},
		{FormatCSV, "1,A,1.0000000001,1", ReasonBadPrice},
		{FormatCSV, "1,A,99999999999,1", ReasonBadPrice},
		{FormatCSV, "1,A,,1", ReasonBadPrice},
		{FormatCSV, "x,A,1,1", ReasonBadTimestamp},
		{FormatCSV, "1.5,A,1,1", ReasonBadTimestamp},
		{FormatCSV, ",A,1,1", ReasonBadTimestamp},
		{FormatCSV, "99999999999999999999,A,1,1", ReasonBadTimestamp},
		{FormatCSV, "2023-02-29T00:00:00Z,A,1,1", ReasonBadTimestamp},
		{FormatCSV, "2023-11-14T24:00:00Z,A,1,1", ReasonBadTimestamp},
		{FormatCSV, "2023-11-14T22:13:20,A,1,1", ReasonBadTimestamp},
		{FormatCSV, "2023-11-14T22:13:20.Z,A,1,1", ReasonBadTimestamp},
		{FormatCSV, "2300-01-01T00:00:00Z,A,1,1", ReasonBadTimestamp},
		{FormatCSV, "1,A,1,0", ReasonBadQty},
		{FormatCSV, "1,A,1,-3", ReasonBadQty},
		{FormatCSV, "1,A,1,1.5", ReasonBadQty},
		{FormatCSV, "1,A,1,x", ReasonBadQty},
		{FormatCSV, "1,A,1,99999999999999999999", ReasonBadQty},
		{FormatCSV, "1,A,1,1000000000001", ReasonBadQty},       // above tick.MaxQty
		{FormatCSV, "1,A,1,5000000000000000000", ReasonBadQty}, // two wrap an int64 volume
		{FormatCSV, "1,A,1,1,X", ReasonBadSide},
		{FormatCSV, "1,A,1,1,buyer", ReasonBadSide},
		{FormatCSV, "1,,1,1", ReasonBadSymbol},
		{FormatCSV, "1,ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456,1,1", ReasonBadSymbol},
		{FormatCSV, "1,A\x01B,1,1", ReasonBadSymbol},
		{FormatCSV, `1,"AAPL,1,1`, ReasonBadSymbol},
		{FormatCSV, `1,AA"PL,1,1`, ReasonBadSymbol},
		{FormatCSV, `1,"A,B",1,1`, ReasonBadSymbol},
		{FormatCSV, `1,"",1,1`, ReasonBadSymbol},
		{FormatCSV, `1,A,"1,1`, ReasonBadPrice},
		{FormatCSV, "1,A,1,1,B,extra", ReasonFieldCount},
		{FormatCSV, "1,A,1", ReasonFieldCount},
		{FormatCSV, "1", ReasonFieldCount},
		{FormatCSV, long, ReasonLineTooLong},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"NaN","size":1}`, ReasonPriceNotFinite},
		{FormatJSON, `{"ts":1,"symbol":"A","price":-2,"size":1}`, ReasonPriceNotPositive},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"0","size":1}`, ReasonPriceNotPositive},
		{FormatJSON, `{"ts":1,"symbol":"A","price":1e2,"size":1}`, ReasonBadPrice},
		{FormatJSON, `{"ts":1,"symbol":"A","price":null,"size":1}`, ReasonBadPrice},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1\u0030","size":1}`, ReasonBadPrice},
		{FormatJSON, `{"ts":1.5,"symbol":"A","price":"1","size":1}`, ReasonBadTimestamp},
		{FormatJSON, `{"ts":"yesterday","symbol":"A","price":"1","size":1}`, ReasonBadTimestamp},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":0}`, ReasonBadQty},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1000000000001}`, ReasonBadQty},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":true}`, ReasonBadQty},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1,"side":"up"}`, ReasonBadSide},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1,"side":1}`, ReasonBadSide},
		{FormatJSON, `{"ts":1,"symbol":42,"price":"1","size":1}`, ReasonBadSymbol},
		{FormatJSON, `{"ts":1,"symbol":"A\"B","price":"1","size":1}`, ReasonBadSymbol},
		{FormatJSON, `{"ts":1,"symbol":"","price":"1","size":1}`, ReasonBadSymbol},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1,"price":"2"}`, ReasonBadPrice},
		{FormatJSON, `{"ts":1,"ts":2,"symbol":"A","price":"1","size":1}`, ReasonBadTimestamp},
		{FormatJSON, `{"ts":1,"symbol":"A","symbol":"A","price":"1","size":1}`, ReasonBadSymbol},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1,"size":1}`, ReasonBadQty},
		{FormatJSON, `{"ts":1,"symbol":"A","price":1,"size":1,"side":"B","side":"S"}`, ReasonBadSide},
		{FormatJSON, `{"ts":1,"price":"1","size":1,"side":"B"}`, ReasonMissingField},
		{FormatJSON, `{"ts":1,"price":"1","size":1}`, ReasonMissingField},
		{FormatJSON, `{}`, ReasonMissingField},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1`, ReasonSyntax},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1}x`, ReasonSyntax},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1}}`, ReasonSyntax},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1,}`, ReasonSyntax},
		{FormatJSON, `{"ts":1 "symbol":"A","price":"1","size":1}`, ReasonSyntax},
		{FormatJSON, `{"ts":,"symbol":"A","price":"1","size":1}`, ReasonSyntax},
		{FormatJSON, `{"ts"1}`, ReasonSyntax},
		{FormatJSON, `{ts:1}`, ReasonSyntax},
		{FormatJSON, `{"a":{"b":1}`, ReasonSyntax},
		{FormatJSON, `{"a":"unterminated}`, ReasonSyntax},
		{FormatJSON, `[1,2]`, ReasonSyntax},
		{FormatJSON, `"ts"`, ReasonSyntax},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1,"side":nul}`, ReasonBadSide},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"infinity","size":1}`, ReasonPriceNotFinite},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1n","size":1}`, ReasonBadPrice},
		{FormatJSON, `{"x":"` + long + `"}`, ReasonLineTooLong},
	}
	for _, c := range cases {
		// bad line between two good ones: counted, named, the next line decodes.
		good := "1,A,1,1\n"
		if c.f == FormatJSON {
			good = `{"ts":1,"symbol":"A","price":"1","size":1}` + "\n"
		}
		src := good + c.line + "\n" + good
		var rs reports
		d := newTestDecoder(t, c.f, &rs, func(o *Options) { o.MaxFrame = 64 })
		got, _ := decodeAll(t, d, 2, []byte(src))
		st := d.Stats()
		r := rs.list()
		if len(got) != 2 || got[1].Seq != 3 || st.Errors != 1 || st.ByReason[c.want] != 1 || st.Frames != 3 ||
			len(r) != 1 || !errors.Is(r[0].err, c.want) || r[0].offset != int64(len(good)) || r[0].seq != 2 {
			t.Errorf("%s %q: want %v; %d events, reports %v, stats %+v", c.f, c.line, c.want, len(got), r, st)
		}
	}
}

// TestTextFieldErrors: a line rejected for its price, size or time is
// reported with the text read and, for a price, what is wrong with it:
// one reason (bad_price) covers too many decimals, a value out of range
// and an exponent.
func TestTextFieldErrors(t *testing.T) {
	long := strings.Repeat("9", 100)
	for _, c := range []struct {
		f    Format
		line string
		want string
	}{
		{FormatCSV, "1,A,1.0000000001,1", `feed: bad price: "1.0000000001": ` + tick.ErrPricePrecise.Error()},
		{FormatCSV, "1,A,99999999999,1", `feed: bad price: "99999999999": ` + tick.ErrPriceRange.Error()},
		{FormatCSV, "1,A,1e3,1", `feed: bad price: "1e3": ` + tick.ErrPriceSyntax.Error()},
		{FormatCSV, "1,A," + long + ",1", `feed: bad price: "` + long[:maxFieldText] + `"… (100 bytes): ` + tick.ErrPriceRange.Error()},
		{FormatCSV, "1,A,-0,1", `feed: price is zero or negative: "-0"`},
		{FormatCSV, "1,A,1,5000000000000000000", ReasonBadQty.Error() + `: "5000000000000000000"`},
		{FormatCSV, "12:00,A,1,1", `feed: bad timestamp: "12:00"`},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1.0000000001","size":1}`, `feed: bad price: "1.0000000001": ` + tick.ErrPricePrecise.Error()},
		{FormatJSON, `{"ts":1,"symbol":"A","price":"1","size":1.5}`, ReasonBadQty.Error() + `: "1.5"`},
	} {
		var rs reports
		d := newTestDecoder(t, c.f, &rs, nil)
		decodeAll(t, d, 2, []byte(c.line+"\n"))
		r := rs.list()
		if len(r) != 1 || r[0].err.Error() != c.want {
			t.Errorf("%s %q: reports %v, want one: %s", c.f, c.line, r, c.want)
			continue
		}
		var fe *FieldError
		if !errors.As(r[0].err, &fe) || !errors.Is(r[0].err, fe.Reason) || d.Stats().ByReason[fe.Reason] != 1 {
			t.Errorf("%s %q: %v is not a counted FieldError", c.f, c.line, r[0].err)
		}
	}
}

func TestTextFixedSymbols(t *testing.T) {
	var rs reports
	d := newTestDecoder(t, FormatCSV, &rs, func(o *Options) { o.FixedSymbols = true })
	if _, err := d.syms.Intern("KNOWN"); err != nil {
		t.Fatal(err)
	}
	got, _ := decodeAll(t, d, 4, []byte("1,KNOWN,1,1\n1,OTHER,1,1\n1,B\x01D,1,1\n"))
	st := d.Stats()
	if len(got) != 1 || st.ByReason[ReasonUnknownSymbol] != 1 || st.ByReason[ReasonBadSymbol] != 1 || d.syms.Len() != 1 {
		t.Fatalf("%d events, stats %+v", len(got), st)
	}
	d = newTestDecoder(t, FormatCSV, &rs, func(o *Options) { o.Symbols = tick.NewSymbolTable(1) })
	decodeAll(t, d, 4, []byte("1,A,1,1\n1,B,1,1\n"))
	if d.Stats().ByReason[ReasonSymbolTableFull] != 1 {
		t.Fatalf("stats %+v", d.Stats())
	}
}

func TestTextLongLineAcrossReads(t *testing.T) {
	// An overlong line that arrives in pieces is reported once, at its start,
	// and dropped up to its '\n'; the lines around it decode.
	for _, f := range []Format{FormatCSV, FormatJSON} {
		good := string(encodeText(f, trades[:1]))
		if f == FormatCSV {
			good = good[len(CSVHeader)+1:]
		}
		chunks := [][]byte{[]byte(good + "1,A,"), []byte(strings.Repeat("9", 100)), []byte(strings.Repeat("9", 100)), []byte(",1\n" + good)}
		var rs reports
		d := newTestDecoder(t, f, &rs, func(o *Options) { o.MaxFrame = 100 })
		got, _ := decodeAll(t, d, 4, chunks...)
		r := rs.list()
		if len(got) != 2 || got[1].Seq != 3 || len(r) != 1 || !errors.Is(r[0].err, ReasonLineTooLong) ||
			r[0].offset != int64(len(good)) || r[0].seq != 2 {
			t.Fatalf("%s: %d events, %v", f, len(got), r)
		}
	}
}

// TestTextMaxFrameCRLF: a line of exactly MaxFrame bytes is accepted
// ending in "\r\n" as in "\n", also when a read ends between the two.
func TestTextMaxFrameCRLF(t *testing.T) {
	line := "1767364200000000000,SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS,10.123456,1"
	if len(line) != 64 {
		t.Fatalf("line is %d bytes", len(line))
	}
	var rs reports
	d := newTestDecoder(t, FormatCSV, &rs, func(o *Options) { o.MaxFrame = 64 })
	got, _ := decodeAll(t, d, 4, []byte(line+"\n"+line+"\r"), []byte("\n"+line+"\n"+line+"\r"))
	if len(got) != 4 || len(rs.list()) != 0 {
		t.Fatalf("%d events, reports %v", len(got), rs.list())
	}
	// One byte more is too long, with either ending.
	d = newTestDecoder(t, FormatCSV, &rs, func(o *Options) { o.MaxFrame = 64 })
	got, _ = decodeAll(t, d, 4, []byte(line+"0\r\n"+line+"0\n"))
	if len(got) != 0 || d.Stats().ByReason[ReasonLineTooLong] != 2 {
		t.Fatalf("%d events, stats %+v", len(got), d.Stats())
	}
}

func TestTextFlush(t *testing.T) {
	var rs reports
	d := newTestDecoder(t, FormatCSV, &rs, nil)
	got, _ := decodeAll(t, d, 4, []byte("1,A,1,1\n2,A,1,2"))
	if len(got) != 2 || got[1].Qty != 2 || got[1].Seq != 2 {
		t.Fatalf("%+v", got)
	}
	// With no slot to flush into, the last line is reported as truncated.
	d = newTestDecoder(t, FormatCSV, &rs, nil)
	if n := d.Flush(nil, []byte("2,A,1,2")); n != 0 || d.Stats().ByReason[ReasonTruncated] != 1 {
		t.Fatalf("flush: %d, %+v", n, d.Stats())
	}
}

func TestTextSplitEveryPoint(t *testing.T) {
	for _, f := range []Format{FormatCSV, FormatJSON} {
		src := encodeText(f, trades)
		src = append(src, "\n# note\nnot a line\r\n"...)
		src = append(src, strings.Repeat("z", 130)+"\n"...) // too long at MaxFrame 128
		src = append(src, encodeText(f, trades[:2])...)
		src = append(src, "1,A,1,1"...) // unterminated: flushed at the end
		whole, wholeReports, wholeStats := splitDecode(t, f, 4, src)
		if len(whole) < 6 || len(wholeReports) < 2 {
			t.Fatalf("%s: %d events, reports %v", f, len(whole), wholeReports)
		}
		for k := 0; k <= len(src); k++ {
			got, r, st := splitDecode(t, f, 3, src[:k], src[k:])
			if !reflect.DeepEqual(got, whole) || !reflect.DeepEqual(r, wholeReports) || st != wholeStats {
				t.Fatalf("%s split at %d:\n got %v %v\nwant %v %v", f, k, got, r, whole, wholeReports)
			}
		}
		got, r, _ := splitDecode(t, f, 1, bytesOneByOne(src)...)
		if !reflect.DeepEqual(got, whole) || !reflect.DeepEqual(r, wholeReports) {
			t.Fatalf("%s: byte-by-byte differs", f)
		}
	}
}

func TestParseTimestampMatchesTime(t *testing.T) {
	in := []string{
		"1970-01-01T00:00:00Z", "2000-02-29T23:59:59.999999999Z", "1999-12-31T23:59:59+14:00",
		"2024-06-30T12:00:00.1-07:00", "1677-09-21T00:12:43.145224192Z", "2262-04-11T23:47:16.854775807Z",
		"1900-03-01T00:00:00Z", "2100-02-28T00:00:00.000001Z", "1969-12-31T23:59:59.5Z",
	}
	for _, s := range in {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseTimestamp([]byte(s))
		if !ok || got != want.UnixNano() {
			t.Errorf("%s: %d %v, want %d", s, got, ok, want.UnixNano())
		}
	}
	for _, s := range []string{"1677-09-21T00:12:43.145224191Z", "2262-04-11T23:47:16.854775808Z", "2023-13-01T00:00:00Z",
		"2023-04-31T00:00:00Z", "2023-01-01T00:60:00Z", "2023-01-01T00:00:60Z", "2023-01-01T00:00:00+24:00",
		"2023-01-01T00:00:00+0100", "2023-01-01 00:00:00Z", "2023-01-01T00:00:00ZZ", "-9223372036854775809"} {
		if v, ok := parseTimestamp([]byte(s)); ok {
			t.Errorf("%s parsed as %d", s, v)
		}
	}
	if v, ok := parseTimestamp([]byte("-9223372036854775808")); !ok || v != -9223372036854775808 {
		t.Errorf("min int64: %d %v", v, ok)
	}
}

func TestTextEncoders(t *testing.T) {
	if got := string(AppendCSV(nil, 5, "AAPL", 189_250_000_000, 100, tick.SideBuy)); got != "5,AAPL,189.25,100,B\n" {
		t.Errorf("csv %q", got)
	}
	if got := string(AppendCSV(nil, 5, "A", 1, 1, tick.SideNone)); got != "5,A,0.000000001,1\n" {
		t.Errorf("csv %q", got)
	}
	want := `{"ts":5,"symbol":"A\"B","price":"189.25","size":100,"side":"S"}` + "\n"
	if got := string(AppendJSON(nil, 5, `A"B`, 189_250_000_000, 100, tick.SideSell)); got != want {
		t.Errorf("json %q", got)
	}
}

func parseTimeRFC3339(s string) (int64, error) {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return tm.UnixNano(), nil
}

// TestTextBOM: a UTF-8 byte order mark before a file's first line (Excel's
// "CSV UTF-8") is skipped, so a header or first trade behind it is read; one
// later in the stream is part of its line.
func TestTextBOM(t *testing.T) {
	const bom = "\xEF\xBB\xBF"
	for _, c := range []struct {
		f   Format
		src string
	}{
		{FormatCSV, bom + "ts,symbol,price,size,side\r\n1,A,1,1,B\r\n"},
		{FormatCSV, bom + "1,A,1,1\n"},
		{FormatJSON, bom + `{"ts":1,"symbol":"A","price":"1","size":1}` + "\n"},
		{FormatCSV, bom + "1,A,1,1"}, // the file's one line, unterminated
	} {
		var rs reports
		d := newTestDecoder(t, c.f, &rs, nil)
		got, _ := decodeAll(t, d, 4, []byte(c.src)) // (an unterminated line is flushed)
		if len(got) != 1 || d.syms.Name(got[0].Symbol) != "A" || len(rs.list()) != 0 {
			t.Errorf("%s %q: events %+v, reports %v", c.f, c.src, got, rs.list())
		}
	}
	var rs reports
	d := newTestDecoder(t, FormatCSV, &rs, nil)
	got, _ := decodeAll(t, d, 4, []byte("1,A,1,1\n"+bom+"2,A,1,1\n"))
	if r := rs.list(); len(got) != 1 || len(r) != 1 || !errors.Is(r[0].err, ReasonBadTimestamp) || r[0].offset != 8 {
		t.Fatalf("BOM on line 2: events %+v, reports %v", got, r)
	}
}

// TestTextCSVHeaderOrder: a header naming the columns in another order is
// followed, so no line is read with two columns swapped (ts,symbol,size,price
// used to make "100,190" a trade of 190 shares at 100); a line that only
// looks like one (a name twice, one missing) is reported as before.
func TestTextCSVHeaderOrder(t *testing.T) {
	for _, c := range []struct {
		src  string
		want trade
	}{
		{"ts,symbol,size,price\n1,A,100,190\n", trade{1, "A", 190e9, 100, 0}},
		{"side,price,size,symbol,ts\r\nB,1.5,7,A,1\r\n", trade{1, "A", 15e8, 7, tick.SideBuy}},
		{`"symbol","ts","price","size"` + "\n" + `"A",1,"2",3,S` + "\n", trade{1, "A", 2e9, 3, tick.SideSell}},
		{"ts,symbol,size,price\nts,symbol,price,size\n1,A,100,190\n", trade{1, "A", 100e9, 190, 0}},
	} {
		var rs reports
		d := newTestDecoder(t, FormatCSV, &rs, nil)
		got, _ := decodeAll(t, d, 4, []byte(c.src))
		if len(got) != 1 || len(rs.list()) != 0 {
			t.Errorf("%q: events %+v, reports %v", c.src, got, rs.list())
			continue
		}
		e := got[0]
		if g := (trade{e.TsEvent, d.syms.Name(e.Symbol), e.Price, e.Qty, e.Side}); g != c.want {
			t.Errorf("%q:\n got %+v\nwant %+v", c.src, g, c.want)
		}
		// A new connection or file starts in the default order again.
		d.Reset()
		if n, _ := decodeAll(t, d, 4, []byte("1,A,2,3\n")); len(n) != 1 || n[0].Price != 2e9 || n[0].Qty != 3 {
			t.Errorf("%q, then Reset: %+v", c.src, n)
		}
	}
	for _, bad := range []string{"ts,ts,price,size", "ts,symbol,price,side", "ts,symbol,price,size,venue"} {
		var rs reports
		d := newTestDecoder(t, FormatCSV, &rs, nil)
		decodeAll(t, d, 4, []byte(bad+"\n1,A,2,3\n"))
		if r := rs.list(); len(r) != 1 || r[0].seq != 1 {
			t.Errorf("%q: reports %v", bad, r)
		}
	}
	// Reading in the header's order allocates nothing.
	d := newTestDecoder(t, FormatCSV, nil, nil)
	src := []byte("ts,symbol,size,price\n1,A,100,190\n2,A,5,191\n")
	dst := make([]tick.Event, 4)
	if a := testing.AllocsPerRun(20, func() { d.Reset(); d.Decode(dst, src) }); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}
