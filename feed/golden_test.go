package feed

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tickd/tickd/tick"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current encoders")

// goldenNative is the file that locks the native format, version 1: a
// stream of every frame type, written by the encoder.
var goldenNative = filepath.Join("testdata", "golden", "native-v1.bin")

// nativeGoldenStream builds the golden stream: Hello, Symbol frames, trades
// of every side with extreme prices and sizes (the largest tick.MaxQty,
// which the decoders accept), a Heartbeat and an End.
func nativeGoldenStream() []byte {
	var e NativeEncoder
	b := e.Hello(nil)
	b = e.Trade(b, "AAPL", 1767364200000000001, 189_250_000_000, 100, tick.SideBuy)
	b = e.Trade(b, "BRK.A", 1767364200000000002, tick.Price(1<<63-1), tick.MaxQty, tick.SideSell) // the largest size the decoders accept
	b = e.Heartbeat(b)
	b = e.Trade(b, "AAPL", 1767364200000000003, 1, 1, tick.SideNone)
	b = e.Trade(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", -1, 123_456_789, 7, tick.SideBuy)
	return e.End(b, 1767364201000000000)
}

// docFrame is a native frame as the feed package doc draws it.
type docFrame struct {
	Type  byte
	Seq   uint64
	Magic string // Hello
	Ver   uint16 // Hello
	Local uint32 // Symbol, Trade
	Name  string // Symbol
	Ts    int64  // Trade, End
	Price int64  // Trade
	Qty   int64  // Trade
	Side  byte   // Trade
}

// decodeNativeDoc decodes a native stream from the package doc's drawing
// alone (not with the Decoder): u16 len counting the bytes after it, u8 type,
// u64 seq, then the body at offset 11, all little-endian.
func decodeNativeDoc(t *testing.T, b []byte) []docFrame {
	t.Helper()
	le := binary.LittleEndian
	var out []docFrame
	for off := 0; off < len(b); {
		if len(b)-off < 2 {
			t.Fatalf("offset %d: %d bytes, no length prefix", off, len(b)-off)
		}
		n := int(le.Uint16(b[off:]))
		if n < 9 || off+2+n > len(b) {
			t.Fatalf("offset %d: length %d", off, n)
		}
		f := b[off : off+2+n]
		d := docFrame{Type: f[2], Seq: le.Uint64(f[3:])}
		want := map[byte]int{1: 15, 3: 38, 4: 9, 5: 17}[d.Type]
		switch d.Type {
		case 1:
			d.Magic, d.Ver = string(f[11:15]), le.Uint16(f[15:])
		case 2:
			want = n // 14..45
			if n < 14 || n > 45 {
				t.Fatalf("offset %d: Symbol frame of length %d", off, n)
			}
			d.Local, d.Name = le.Uint32(f[11:]), string(f[15:])
		case 3:
			d.Local, d.Ts, d.Price, d.Qty, d.Side = le.Uint32(f[11:]), int64(le.Uint64(f[15:])),
				int64(le.Uint64(f[23:])), int64(le.Uint64(f[31:])), f[39]
		case 5:
			d.Ts = int64(le.Uint64(f[11:]))
		}
		if n != want {
			t.Fatalf("offset %d: frame type %d of length %d, the doc says %d", off, d.Type, n, want)
		}
		out = append(out, d)
		off += 2 + n
	}
	return out
}

// TestNativeGolden locks the native format, version 1: the encoder writes
// the golden bytes; a decoder written from the package doc reads them as
// the frames they were written from; and the Decoder reads them as those
// events. A change to any of the three fails here (go test -run
// TestNativeGolden -update rewrites the file, for a deliberate change,
// which then needs a new FormatVersion).
func TestNativeGolden(t *testing.T) {
	b := nativeGoldenStream()
	if *update {
		if err := os.WriteFile(goldenNative, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(goldenNative)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, golden) {
		t.Fatalf("the encoder no longer writes %s (%d bytes, golden %d): the native format changed", goldenNative, len(b), len(golden))
	}
	const max = 1<<63 - 1
	want := []docFrame{
		{Type: 1, Seq: 1, Magic: "TKDF", Ver: 1},
		{Type: 2, Seq: 2, Local: 0, Name: "AAPL"},
		{Type: 3, Seq: 3, Local: 0, Ts: 1767364200000000001, Price: 189_250_000_000, Qty: 100, Side: 1},
		{Type: 2, Seq: 4, Local: 1, Name: "BRK.A"},
		{Type: 3, Seq: 5, Local: 1, Ts: 1767364200000000002, Price: max, Qty: tick.MaxQty, Side: 2},
		{Type: 4, Seq: 6},
		{Type: 3, Seq: 7, Local: 0, Ts: 1767364200000000003, Price: 1, Qty: 1, Side: 0},
		{Type: 2, Seq: 8, Local: 2, Name: "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"},
		{Type: 3, Seq: 9, Local: 2, Ts: -1, Price: 123_456_789, Qty: 7, Side: 1},
		{Type: 5, Seq: 10, Ts: 1767364201000000000},
	}
	if got := decodeNativeDoc(t, golden); !reflect.DeepEqual(got, want) {
		t.Fatalf("the doc's layout reads the golden stream as\n%+v\nwant\n%+v", got, want)
	}

	var rs reports
	d := newTestDecoder(t, FormatNative, &rs, nil)
	evs, err := decodeAll(t, d, 16, golden)
	if err != nil || len(rs.list()) != 0 {
		t.Fatalf("decoding the golden stream: %v, reports %v", err, rs.list())
	}
	var got []docFrame
	for _, e := range evs {
		f := docFrame{Seq: e.Seq, Ts: e.TsEvent}
		if e.Kind == tick.KindEndOfStream {
			f.Type = 5
		} else {
			f.Type, f.Name, f.Price, f.Qty, f.Side = 3, d.syms.Name(e.Symbol), int64(e.Price), e.Qty, byte(e.Side)
		}
		got = append(got, f)
	}
	var wantEv []docFrame
	names := map[uint32]string{}
	for _, f := range want {
		switch f.Type {
		case 2:
			names[f.Local] = f.Name
		case 3:
			wantEv = append(wantEv, docFrame{Type: 3, Seq: f.Seq, Ts: f.Ts, Name: names[f.Local], Price: f.Price, Qty: f.Qty, Side: f.Side})
		case 5:
			wantEv = append(wantEv, docFrame{Type: 5, Seq: f.Seq, Ts: f.Ts})
		}
	}
	if !reflect.DeepEqual(got, wantEv) {
		t.Fatalf("the Decoder reads the golden stream as\n%+v\nwant\n%+v", got, wantEv)
	}
}
