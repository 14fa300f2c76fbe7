package itch

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tickd/tickd/tick"
)

// lay builds a message byte by byte, straight from the spec's field table,
// with its own shifts so that it shares no code with the encoders.
type lay struct{ b []byte }

func (l *lay) u8(v ...byte) *lay { l.b = append(l.b, v...); return l }
func (l *lay) u16(v uint16) *lay { return l.u8(byte(v>>8), byte(v)) }
func (l *lay) u32(v uint32) *lay { return l.u8(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)) }
func (l *lay) u48(v uint64) *lay {
	return l.u8(byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
func (l *lay) u64(v uint64) *lay { return l.u32(uint32(v >> 32)).u32(uint32(v)) }

// s appends an alpha field of width n, right-padded with spaces.
func (l *lay) s(str string, n int) *lay {
	f := bytes.Repeat([]byte{' '}, n)
	copy(f, str)
	return l.u8(f...)
}

const (
	tLoc   = 0x0102
	tTrack = 0x0304
	tTs    = 0x0A0B0C0D0E0F // 11,042,563,751,439 ns: about 03:04 after midnight
)

var tHdr = Header{Locate: tLoc, Tracking: tTrack, Timestamp: tTs}

func hdr(t byte) *lay { return (&lay{}).u8(t).u16(tLoc).u16(tTrack).u48(tTs) }

// px4 is a Price(4) value and its tick.Price.
func px4(units uint32) tick.Price {
	p, _ := tick.PriceFromUnits(int64(units), 4)
	return p
}

// roundTrip checks one message type: the hand-built layout has the spec's
// length, passes Check, decodes to want without allocating or writing into
// its input, and want encodes back to exactly the layout.
func roundTrip[T comparable](t *testing.T, want T, layout []byte, enc func([]byte, T) []byte, dec func([]byte) T) {
	t.Helper()
	typ := layout[0]
	if int(MsgLen[typ]) != len(layout) {
		t.Fatalf("%c: layout is %d bytes, MsgLen says %d", typ, len(layout), MsgLen[typ])
	}
	if got, err := Check(layout); err != nil || got != typ {
		t.Fatalf("%c: Check = %c, %v", typ, got, err)
	}
	in := bytes.Clone(layout)
	if got := dec(in); got != want {
		t.Errorf("%c: decoded\n %+v\nwant\n %+v", typ, got, want)
	}
	if !bytes.Equal(in, layout) {
		t.Errorf("%c: decoding wrote into its input", typ)
	}
	if got := enc(nil, want); !bytes.Equal(got, layout) {
		t.Errorf("%c: encoded\n % x\nwant\n % x", typ, got, layout)
	}
	if got := enc([]byte("xy"), want); !bytes.Equal(got[2:], layout) || string(got[:2]) != "xy" {
		t.Errorf("%c: encoding did not append to dst", typ)
	}
	if a := testing.AllocsPerRun(100, func() { sinkAny = dec(in) != want }); a != 0 {
		t.Errorf("%c: decode allocates %v per run", typ, a)
	}
}

var sinkAny bool

func TestRoundTripEveryType(t *testing.T) {
	seen := map[byte]bool{}
	mark := func(b []byte) []byte { seen[b[0]] = true; return b }
	roundTrip(t, SystemEvent{tHdr, 'Q'}, mark(hdr('S').u8('Q').b), AppendSystemEvent, DecodeSystemEvent)
	roundTrip(t, StockDirectory{tHdr, MakeStock("ALC"), 'Q', 'N', 100, 'N', 'C', [2]byte{'Z', ' '}, 'P', 'N', ' ', '2', 'Y', 3, 'N'},
		mark(hdr('R').s("ALC", 8).u8('Q', 'N').u32(100).u8('N', 'C', 'Z', ' ', 'P', 'N', ' ', '2', 'Y').u32(3).u8('N').b),
		AppendStockDirectory, DecodeStockDirectory)
	roundTrip(t, StockTradingAction{tHdr, MakeStock("BOB"), 'T', ' ', [4]byte{'I', 'P', 'O', '1'}},
		mark(hdr('H').s("BOB", 8).u8('T', ' ').s("IPO1", 4).b), AppendStockTradingAction, DecodeStockTradingAction)
	roundTrip(t, RegSHORestriction{tHdr, MakeStock("CHAR"), '1'},
		mark(hdr('Y').s("CHAR", 8).u8('1').b), AppendRegSHORestriction, DecodeRegSHORestriction)
	roundTrip(t, MarketParticipantPosition{tHdr, [4]byte{'G', 'S', 'C', 'O'}, MakeStock("ALC"), 'Y', 'N', 'A'},
		mark(hdr('L').s("GSCO", 4).s("ALC", 8).u8('Y', 'N', 'A').b), AppendMarketParticipantPosition, DecodeMarketParticipantPosition)
	p8 := func(u uint64) tick.Price { p, _ := Price8(u); return p }
	roundTrip(t, MWCBDeclineLevel{tHdr, p8(3_000_000_000_00), p8(2_800_000_000_00), p8(2_600_012_345_67)},
		mark(hdr('V').u64(3_000_000_000_00).u64(2_800_000_000_00).u64(2_600_012_345_67).b),
		AppendMWCBDeclineLevel, func(b []byte) MWCBDeclineLevel { m, _ := DecodeMWCBDeclineLevel(b); return m })
	roundTrip(t, MWCBStatus{tHdr, '2'}, mark(hdr('W').u8('2').b), AppendMWCBStatus, DecodeMWCBStatus)
	roundTrip(t, IPOQuotingPeriod{tHdr, MakeStock("NEWCO"), 34200, 'A', px4(210000)},
		mark(hdr('K').s("NEWCO", 8).u32(34200).u8('A').u32(210000).b), AppendIPOQuotingPeriod, DecodeIPOQuotingPeriod)
	roundTrip(t, LULDAuctionCollar{tHdr, MakeStock("BOB"), px4(100000), px4(110000), px4(90000), 2},
		mark(hdr('J').s("BOB", 8).u32(100000).u32(110000).u32(90000).u32(2).b), AppendLULDAuctionCollar, DecodeLULDAuctionCollar)
	roundTrip(t, OperationalHalt{tHdr, MakeStock("ALC"), 'Q', 'H'},
		mark(hdr('h').s("ALC", 8).u8('Q', 'H').b), AppendOperationalHalt, DecodeOperationalHalt)
	add := AddOrder{tHdr, 0x1122334455667788, 'B', 300, MakeStock("ALC"), px4(1234500)}
	roundTrip(t, add, mark(hdr('A').u64(0x1122334455667788).u8('B').u32(300).s("ALC", 8).u32(1234500).b),
		AppendAddOrder, DecodeAddOrder)
	roundTrip(t, AddOrderMPID{add, [4]byte{'N', 'S', 'D', 'Q'}},
		mark(hdr('F').u64(0x1122334455667788).u8('B').u32(300).s("ALC", 8).u32(1234500).s("NSDQ", 4).b),
		AppendAddOrderMPID, DecodeAddOrderMPID)
	exe := OrderExecuted{tHdr, 77, 40, 0xABCDEF0123}
	roundTrip(t, exe, mark(hdr('E').u64(77).u32(40).u64(0xABCDEF0123).b), AppendOrderExecuted, DecodeOrderExecuted)
	roundTrip(t, OrderExecutedPrice{exe, 'N', px4(99_9999)},
		mark(hdr('C').u64(77).u32(40).u64(0xABCDEF0123).u8('N').u32(99_9999).b), AppendOrderExecutedPrice, DecodeOrderExecutedPrice)
	roundTrip(t, OrderCancel{tHdr, 78, 5}, mark(hdr('X').u64(78).u32(5).b), AppendOrderCancel, DecodeOrderCancel)
	roundTrip(t, OrderDelete{tHdr, 79}, mark(hdr('D').u64(79).b), AppendOrderDelete, DecodeOrderDelete)
	roundTrip(t, OrderReplace{tHdr, 80, 81, 700, px4(4294967295)},
		mark(hdr('U').u64(80).u64(81).u32(700).u32(4294967295).b), AppendOrderReplace, DecodeOrderReplace)
	roundTrip(t, Trade{tHdr, 0, 'S', 25, MakeStock("CHAR"), px4(5), 999},
		mark(hdr('P').u64(0).u8('S').u32(25).s("CHAR", 8).u32(5).u64(999).b), AppendTrade, DecodeTrade)
	roundTrip(t, CrossTrade{tHdr, 1 << 40, MakeStock("BOB"), px4(500000), 1000, 'O'},
		mark(hdr('Q').u64(1<<40).s("BOB", 8).u32(500000).u64(1000).u8('O').b), AppendCrossTrade, DecodeCrossTrade)
	roundTrip(t, BrokenTrade{tHdr, 1001}, mark(hdr('B').u64(1001).b), AppendBrokenTrade, DecodeBrokenTrade)
	roundTrip(t, NOII{tHdr, 5000, 300, 'B', MakeStock("ALC"), px4(101), px4(102), px4(103), 'C', 'L'},
		mark(hdr('I').u64(5000).u64(300).u8('B').s("ALC", 8).u32(101).u32(102).u32(103).u8('C', 'L').b), AppendNOII, DecodeNOII)
	roundTrip(t, RetailPriceImprovement{tHdr, MakeStock("BOB"), 'A'},
		mark(hdr('N').s("BOB", 8).u8('A').b), AppendRetailPriceImprovement, DecodeRetailPriceImprovement)
	roundTrip(t, DirectListing{tHdr, MakeStock("DLCO"), 'Y', px4(100000), px4(200000), px4(150000), 34200_000000000, px4(140000), px4(160000)},
		mark(hdr('O').s("DLCO", 8).u8('Y').u32(100000).u32(200000).u32(150000).u64(34200_000000000).u32(140000).u32(160000).b),
		AppendDirectListing, DecodeDirectListing)
	for _, typ := range Types {
		if !seen[typ] {
			t.Errorf("type %c has no round-trip case", typ)
		}
	}
	if len(seen) != len(Types) {
		t.Errorf("covered %d types, Types lists %d", len(seen), len(Types))
	}
}

func TestMsgLenTable(t *testing.T) {
	want := map[byte]int{'S': 12, 'R': 39, 'H': 25, 'Y': 20, 'L': 26, 'V': 35, 'W': 12, 'K': 28, 'J': 35, 'h': 21,
		'A': 36, 'F': 40, 'E': 31, 'C': 36, 'X': 23, 'D': 19, 'U': 35, 'P': 44, 'Q': 40, 'B': 19, 'I': 50, 'N': 20, 'O': 48}
	for i := 0; i < 256; i++ {
		if int(MsgLen[i]) != want[byte(i)] {
			t.Errorf("MsgLen[%q] = %d, want %d", rune(i), MsgLen[i], want[byte(i)])
		}
	}
	if len(Types) != len(want) {
		t.Errorf("Types has %d entries, want %d", len(Types), len(want))
	}
}

func TestPrices(t *testing.T) {
	if got := Price4(1234500); got != 123_450_000_000 {
		t.Errorf("Price4(1234500) = %d", got)
	}
	if got := Price4(0xFFFFFFFF); got.String() != "429496.7295" {
		t.Errorf("Price4(max) = %s", got)
	}
	if got, ok := Price8(123_45678901); !ok || got.String() != "123.45678901" {
		t.Errorf("Price8 = %s, %v", got, ok)
	}
	if _, ok := Price8(1 << 63); ok {
		t.Error("Price8(2^63) fit")
	}
	if _, ok := Price8(1<<63 - 1); ok {
		t.Error("Price8(2^63-1) fit: times 10 overflows int64")
	}
	v := hdr('V').u64(1 << 62).u64(0).u64(0).b
	if _, err := DecodeMWCBDeclineLevel(v); !errors.Is(err, ReasonPriceRange) {
		t.Errorf("V with huge level: %v", err)
	}
}

func TestCheckRejections(t *testing.T) {
	add := AppendAddOrder(nil, AddOrder{Side: 'B', Stock: MakeStock("X")})
	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ReasonEmpty},
		{"unknown type", []byte{'Z', 0, 0}, ReasonUnknownType},
		{"short", add[:35], ReasonBadLength},
		{"long", append(add[:36:36], 0), ReasonBadLength},
		{"header only", add[:11], ReasonBadLength},
	}
	for _, c := range cases {
		if _, err := Check(c.msg); err != c.want {
			t.Errorf("%s: Check = %v, want %v", c.name, err, c.want)
		}
	}
	for r := Reason(1); r < NumReasons; r++ {
		if r.String() == "" || r.Error()[:6] != "itch: " {
			t.Errorf("reason %d: %q %q", r, r.String(), r.Error())
		}
	}
	if Reason(200).String() != "reason(200)" || Reason(200).Error() != "itch: reason(200)" {
		t.Error("out-of-range reason text")
	}
}

func TestStock(t *testing.T) {
	s := MakeStock("ALC")
	if string(s[:]) != "ALC     " || s.String() != "ALC" || string(s.Trim()) != "ALC" {
		t.Errorf("MakeStock: %q %q", s[:], s.String())
	}
	if s := MakeStock("TOOLONGNAME"); string(s[:]) != "TOOLONGN" {
		t.Errorf("MakeStock truncation: %q", s[:])
	}
}

// TestViews checks every view accessor against the Decode structs, over a
// generated stream and the round-trip values.
func TestViews(t *testing.T) {
	msgs := splitFrames(t, genStream(3000, 11))
	msgs = append(msgs,
		AppendOrderExecutedPrice(nil, OrderExecutedPrice{OrderExecuted{tHdr, 77, 40, 0xABCDEF0123}, 'N', px4(99_9999)}),
		AppendCrossTrade(nil, CrossTrade{tHdr, 1 << 40, MakeStock("BOB"), px4(500000), 1000, 'O'}),
		AppendBrokenTrade(nil, BrokenTrade{tHdr, 1001}),
		AppendAddOrderMPID(nil, AddOrderMPID{AddOrder{tHdr, 5, 'S', 9, MakeStock("CHAR"), px4(77)}, [4]byte{'A', 'B', 'C', 'D'}}))
	seen := map[byte]bool{}
	for _, m := range msgs {
		v := View(m)
		h := DecodeHeader(m)
		if v.Type() != m[0] || v.Locate() != h.Locate || v.Tracking() != h.Tracking || v.Timestamp() != h.Timestamp {
			t.Fatalf("%c: header view %d %d %d, want %+v", m[0], v.Locate(), v.Tracking(), v.Timestamp(), h)
		}
		seen[m[0]] = true
		ok := true
		switch m[0] {
		case 'A', 'F':
			s, w := AddOrderView{v}, DecodeAddOrder(m)
			ok = s.OrderRef() == w.OrderRef && s.Side() == w.Side && s.Shares() == w.Shares &&
				Stock(s.Stock()) == w.Stock && Price4(s.PriceUnits()) == w.Price
		case 'E':
			s, w := ExecutedView{v}, DecodeOrderExecuted(m)
			ok = s.OrderRef() == w.OrderRef && s.Shares() == w.Shares && s.Match() == w.Match
		case 'C':
			s, w := ExecutedPriceView{ExecutedView{v}}, DecodeOrderExecutedPrice(m)
			ok = s.OrderRef() == w.OrderRef && s.Shares() == w.Shares && s.Match() == w.Match &&
				s.Printable() == w.Printable && Price4(s.PriceUnits()) == w.Price
		case 'X':
			s, w := CancelView{v}, DecodeOrderCancel(m)
			ok = s.OrderRef() == w.OrderRef && s.Shares() == w.Shares
		case 'D':
			ok = CancelView{v}.OrderRef() == DecodeOrderDelete(m).OrderRef
		case 'U':
			s, w := ReplaceView{v}, DecodeOrderReplace(m)
			ok = s.OrigRef() == w.OrigRef && s.NewRef() == w.NewRef && s.Shares() == w.Shares && Price4(s.PriceUnits()) == w.Price
		case 'P':
			s, w := TradeView{v}, DecodeTrade(m)
			ok = s.OrderRef() == w.OrderRef && s.Side() == w.Side && s.Shares() == w.Shares &&
				Stock(s.Stock()) == w.Stock && Price4(s.PriceUnits()) == w.Price && s.Match() == w.Match
		case 'Q':
			s, w := CrossView{v}, DecodeCrossTrade(m)
			ok = s.Shares() == w.Shares && Stock(s.Stock()) == w.Stock && Price4(s.PriceUnits()) == w.Price &&
				s.Match() == w.Match && s.CrossType() == w.CrossType
		case 'B':
			ok = MatchView{v}.Match() == DecodeBrokenTrade(m).Match
		}
		if !ok {
			t.Fatalf("%c: view disagrees with the decoded struct", m[0])
		}
	}
	for _, typ := range []byte("AFECXDUPQB") {
		if !seen[typ] {
			t.Errorf("no %c message exercised", typ)
		}
	}
}
