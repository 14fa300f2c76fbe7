package feed

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tickd/tickd/tick"
)

// fuzzRun decodes data split into chunks at the given cut points, with
// claims of claim slots, and checks the accounting. It returns what a
// comparison across splits needs.
func fuzzRun(t *testing.T, f Format, data []byte, claim int, cuts ...int) ([]tick.Event, []string, Stats) {
	var chunks [][]byte
	prev := 0
	for _, c := range cuts {
		chunks = append(chunks, data[prev:c])
		prev = c
	}
	chunks = append(chunks, data[prev:])
	var rs reports
	d := newTestDecoder(t, f, &rs, func(o *Options) {
		o.MaxFrame = 100
		o.Symbols = tick.NewSymbolTable(4) // small: the table fills up
	})
	ev, err := decodeAll(t, d, claim, chunks...)
	st := d.Stats()
	var sum uint64
	for _, n := range st.ByReason {
		sum += n
	}
	switch {
	case sum != st.Errors:
		t.Fatalf("errors %d, by reason %d", st.Errors, sum)
	case st.Events != uint64(len(ev)):
		t.Fatalf("%d events counted, %d delivered", st.Events, len(ev))
	case err == nil && d.Offset() != int64(len(data)):
		t.Fatalf("consumed %d of %d bytes", d.Offset(), len(data))
	case err != nil && d.Offset() > int64(len(data)):
		t.Fatalf("consumed %d of %d bytes", d.Offset(), len(data))
	case len(d.local) > maxLocalSymbols:
		t.Fatalf("%d local symbols", len(d.local))
	case f == FormatNative && st.Frames < st.Events:
		t.Fatalf("%d frames, %d events", st.Frames, st.Events)
	}
	for _, e := range ev {
		if e.Kind == tick.KindTrade && (e.Price <= 0 || e.Qty <= 0 || e.Side > tick.SideSell || d.syms.Name(e.Symbol) == "") {
			t.Fatalf("invalid event delivered: %+v", e)
		}
	}
	var r []string
	for _, x := range rs.list() {
		r = append(r, x.String())
	}
	if err != nil {
		r = append(r, "fatal: "+err.Error())
	}
	return ev, r, st
}

// fuzzDecode checks that splitting the input across reads changes nothing.
func fuzzDecode(t *testing.T, f Format, data []byte, split uint16, claim uint8) {
	c := int(claim%8) + 1
	ev, r, st := fuzzRun(t, f, data, 64)
	k := int(split) % (len(data) + 1)
	ev2, r2, st2 := fuzzRun(t, f, data, c, k, max(k, min(len(data), k+int(claim))))
	if !reflect.DeepEqual(ev, ev2) || !reflect.DeepEqual(r, r2) || st != st2 {
		t.Fatalf("split at %d, claim %d differs:\n%v\n%v\n%+v\n%+v", k, c, r, r2, st, st2)
	}
	if len(data) <= 256 {
		cuts := make([]int, len(data))
		for i := range cuts {
			cuts[i] = i
		}
		ev3, r3, _ := fuzzRun(t, f, data, c, cuts...)
		if !reflect.DeepEqual(ev, ev3) || !reflect.DeepEqual(r, r3) {
			t.Fatalf("byte by byte differs:\n%v\n%v", r, r3)
		}
	}
}

func FuzzNativeDecoder(f *testing.F) {
	f.Add(nativeStream(), uint16(13), uint8(0))
	f.Add(connStream("A", 5), uint16(40), uint8(3))
	f.Add(append(AppendHello(nil, 1), frame(-1, 9, 2, 1, 2, 3)...), uint16(5), uint8(1))
	f.Add(append(AppendHello(nil, 1), 0xff, 0xff, 1), uint16(17), uint8(2))
	f.Add(append(AppendSymbol(nil, 3, 7, "ZZ"), AppendTrade(nil, 9, 7, 1, -1, 0, 4)...), uint16(3), uint8(5))
	f.Add(append(AppendSymbol(nil, 1, 1, "A"), append(AppendSymbol(nil, 2, 2, "B"),
		append(AppendSymbol(nil, 3, 3, "C"), append(AppendSymbol(nil, 4, 4, "D"), AppendSymbol(nil, 5, 5, "E")...)...)...)...),
		uint16(30), uint8(7))
	f.Add([]byte{0, 0, 1, 0, 3}, uint16(1), uint8(0))
	f.Add([]byte{}, uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, split uint16, claim uint8) {
		fuzzDecode(t, FormatNative, data, split, claim)
	})
}

func FuzzCSVDecoder(f *testing.F) {
	f.Add(encodeText(FormatCSV, trades), uint16(20), uint8(0))
	f.Add([]byte("# c\n\n1,A,NaN,1\n2023-11-14T22:13:20.5+01:00,B,1.5,2,s\r\n1,A,1,1,B,x\n1,A,1"), uint16(9), uint8(2))
	f.Add([]byte(strings.Repeat("9", 150)+"\n1,A,1,1\n"+strings.Repeat("x", 101)), uint16(120), uint8(1))
	f.Add([]byte("1,A,1,1\n1,B,1,1\n1,C,1,1\n1,D,1,1\n1,E,1,1\n1,bad sym ,1,1\n"), uint16(3), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, split uint16, claim uint8) {
		fuzzDecode(t, FormatCSV, data, split, claim)
	})
}

func FuzzJSONDecoder(f *testing.F) {
	f.Add(encodeText(FormatJSON, trades), uint16(20), uint8(0))
	f.Add([]byte(`{"a":{"b":["}",{"c":"\""}]},"ts":"2023-11-14T22:13:20Z","symbol":"A","price":1.25,"size":"3","side":null}`+"\n"), uint16(40), uint8(1))
	f.Add([]byte("{\"ts\":1,\"symbol\":\"A\",\"price\":\"1\",\"size\":1\n{}\n[\n{\"ts\":1,\"symbol\":\"A\\\"\",\"price\":\"1\",\"size\":1}\n"), uint16(7), uint8(2))
	f.Add([]byte(`{"ts":1,"symbol":"A","price":"inf","size":1,"side":"x"}`), uint16(11), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, split uint16, claim uint8) {
		fuzzDecode(t, FormatJSON, data, split, claim)
	})
}

func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"2023-11-14T22:13:20.123456789Z", "1970-01-01T00:00:00+01:00", "1700000000000000000", "-1", "2262-04-11T23:47:16.854775807Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseTimestamp([]byte(s))
		if !ok || len(s) < 20 || s[4] != '-' {
			return
		}
		// Every RFC 3339 time we accept, Go's time package reads the same
		// (it wants 'T' and 'Z' upper case; RFC 3339 allows either).
		b := []byte(s)
		b[10] &^= 0x20
		if b[len(b)-1] == 'z' {
			b[len(b)-1] = 'Z'
		}
		want, err := parseTimeRFC3339(string(b))
		if err != nil || want != v {
			t.Fatalf("%q: %d, time.Parse %d %v", s, v, want, err)
		}
	})
}

// FuzzDecodeMessage: DecodeMessage, the decoder of a Kafka record's value or
// a NATS message's data, delivers only valid trades stamped with the
// receive time, and each message is a stream of its own (Reset): the same
// message decoded again, or into one-slot claims, gives the same events.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(uint8(FormatNative), nativeStream())
	f.Add(uint8(FormatNative), connStream("A", 5)[:60]) // a frame cut off
	f.Add(uint8(FormatNative), append(AppendHello(nil, 1), 0xff, 0xff, 1))
	f.Add(uint8(FormatNative), AppendTrade(AppendSymbol(nil, 1, 0, "A"), 2, 0, 1, 1e9, 1, tick.SideBuy)) // no Hello
	f.Add(uint8(FormatCSV), encodeText(FormatCSV, trades))
	f.Add(uint8(FormatCSV), []byte("1,A,1,1\n2,A,1.5,2")) // an unterminated last line
	f.Add(uint8(FormatJSON), encodeText(FormatJSON, trades))
	f.Add(uint8(FormatJSON), []byte(`{"ts":1,"symbol":"A","price":"1","size":1}`))
	f.Fuzz(func(t *testing.T, format uint8, msg []byte) {
		fm := []Format{FormatNative, FormatCSV, FormatJSON}[int(format)%3]
		const recv = 42
		d := newTestDecoder(t, fm, &reports{}, func(o *Options) { o.MaxFrame = 100; o.Symbols = tick.NewSymbolTable(4) })
		var runs [3][]tick.Event
		for i, maxClaim := range []int{0, 0, 1} {
			s := &testSink{maxClaim: maxClaim}
			before := d.Stats().Events
			if !d.DecodeMessage(s, msg, recv) {
				t.Fatal("DecodeMessage reported a sink shutting down")
			}
			runs[i], _ = s.snapshot()
			if n := d.Stats().Events - before; n != uint64(len(runs[i])) {
				t.Fatalf("%d events counted, %d delivered", n, len(runs[i]))
			}
		}
		for _, e := range runs[0] {
			if e.Kind == tick.KindTrade && (e.Price <= 0 || e.Qty <= 0 || e.Side > tick.SideSell || d.syms.Name(e.Symbol) == "" || e.TsRecv != recv) {
				t.Fatalf("invalid event delivered: %+v", e)
			}
		}
		if !reflect.DeepEqual(runs[0], runs[1]) || !reflect.DeepEqual(runs[0], runs[2]) {
			t.Fatalf("the same message decoded differently:\n%+v\n%+v\n%+v", runs[0], runs[1], runs[2])
		}
	})
}
