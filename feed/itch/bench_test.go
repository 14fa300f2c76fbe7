package itch

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// Sinks the compiler cannot see through.
var (
	sinkU64 uint64
	sinkEv  tick.Event
)

var benchAdd = AppendAddOrder(nil, AddOrder{Header{Locate: 1, Tracking: 2, Timestamp: 34_200_000_000_123},
	0x1122334455667788, 'B', 300, MakeStock("ALC"), 123_450_000_000})

func BenchmarkDecodeAddOrder(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchAdd)))
	buf := benchAdd
	var acc uint64
	for range b.N {
		m := DecodeAddOrder(buf)
		acc += m.OrderRef + uint64(m.Price) + uint64(m.Shares) + m.Timestamp + uint64(m.Locate)
	}
	sinkU64 = acc
}

// rawAdd is the naive baseline's view of an A message, for binary.Read.
type rawAdd struct {
	Type          byte
	Locate, Track uint16
	Ts            [6]byte
	Ref           uint64
	Side          byte
	Shares        uint32
	Stock         [8]byte
	Price         uint32
}

// BenchmarkAddOrderView reads the same fields through the zero-copy view.
func BenchmarkAddOrderView(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchAdd)))
	buf := benchAdd
	var acc uint64
	for range b.N {
		m := AddOrderView{View(buf)}
		acc += m.OrderRef() + uint64(Price4(m.PriceUnits())) + uint64(m.Shares()) + m.Timestamp() + uint64(m.Locate())
	}
	sinkU64 = acc
}

func BenchmarkDecodeAddOrderNaive(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchAdd)))
	var acc uint64
	r := bytes.NewReader(benchAdd)
	for range b.N {
		r.Reset(benchAdd)
		var m rawAdd
		if err := binary.Read(r, binary.BigEndian, &m); err != nil {
			b.Fatal(err)
		}
		acc += m.Ref + uint64(m.Price) + uint64(m.Shares)
	}
	sinkU64 = acc
}

// benchStream is a mixed stream of framed messages, decoded one message per op.
var benchStream = genStream(10_000, 42)

// perMsg makes b report per message (allocations, the mean message size),
// timed from here.
func perMsg(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchStream) / 10_000)) // mean framed message size
	b.ResetTimer()                               // a decoder's tables, allocated by the set-up, are not the loop's
}

// BenchmarkFramed walks the framing and switches on the type, reading the
// fields through the zero-copy views: the message layer's cost per message.
func BenchmarkFramed(b *testing.B) {
	perMsg(b)
	s, pos := benchStream, 0
	var acc uint64
	for range b.N {
		if pos >= len(s) {
			pos = 0
		}
		n := int(binary.BigEndian.Uint16(s[pos:]))
		msg := s[pos+2 : pos+2+n]
		pos += 2 + n
		switch msg[0] {
		case TypeAddOrder:
			m := AddOrderView{View(msg)}
			acc += m.OrderRef() + uint64(Price4(m.PriceUnits())) + uint64(m.Shares())
		case TypeOrderDelete:
			acc += CancelView{View(msg)}.OrderRef()
		case TypeOrderReplace:
			m := ReplaceView{View(msg)}
			acc += m.NewRef() + uint64(Price4(m.PriceUnits()))
		case TypeOrderExecuted:
			acc += ExecutedView{View(msg)}.Match()
		case TypeOrderExecutedPrice:
			acc += uint64(Price4(ExecutedPriceView{ExecutedView{View(msg)}}.PriceUnits()))
		case TypeOrderCancel:
			acc += uint64(CancelView{View(msg)}.Shares())
		case TypeTrade:
			acc += uint64(Price4(TradeView{View(msg)}.PriceUnits()))
		default:
			acc += uint64(msg[0])
		}
	}
	sinkU64 = acc
}

// BenchmarkFramedStructs is BenchmarkFramed decoding each message into its
// value struct (every field) instead.
func BenchmarkFramedStructs(b *testing.B) {
	perMsg(b)
	s, pos := benchStream, 0
	var acc uint64
	for range b.N {
		if pos >= len(s) {
			pos = 0
		}
		n := int(binary.BigEndian.Uint16(s[pos:]))
		msg := s[pos+2 : pos+2+n]
		pos += 2 + n
		switch msg[0] {
		case TypeAddOrder:
			m := DecodeAddOrder(msg)
			acc += m.OrderRef + uint64(m.Price) + uint64(m.Shares)
		case TypeOrderDelete:
			acc += DecodeOrderDelete(msg).OrderRef
		case TypeOrderReplace:
			m := DecodeOrderReplace(msg)
			acc += m.NewRef + uint64(m.Price)
		case TypeOrderExecuted:
			acc += DecodeOrderExecuted(msg).Match
		case TypeOrderExecutedPrice:
			acc += uint64(DecodeOrderExecutedPrice(msg).Price)
		case TypeOrderCancel:
			acc += uint64(DecodeOrderCancel(msg).Shares)
		case TypeTrade:
			acc += uint64(DecodeTrade(msg).Price)
		default:
			acc += uint64(msg[0])
		}
	}
	sinkU64 = acc
}

// Naive baseline views of the other order messages, for binary.Read.
type (
	rawHdr struct {
		Type          byte
		Locate, Track uint16
		Ts            [6]byte
	}
	rawDelete struct {
		rawHdr
		Ref uint64
	}
	rawReplace struct {
		rawHdr
		Orig, New     uint64
		Shares, Price uint32
	}
	rawExec struct {
		rawHdr
		Ref    uint64
		Shares uint32
		Match  uint64
	}
	rawExecPrice struct {
		rawExec
		Printable byte
		Price     uint32
	}
	rawCancel struct {
		rawHdr
		Ref    uint64
		Shares uint32
	}
	rawTrade struct {
		rawHdr
		Ref    uint64
		Side   byte
		Shares uint32
		Stock  [8]byte
		Price  uint32
		Match  uint64
	}
)

// BenchmarkFramedNaive is the baseline: encoding/binary.Read of the length
// and of each message into a struct (other types are skipped by length).
func BenchmarkFramedNaive(b *testing.B) {
	perMsg(b)
	r := bytes.NewReader(benchStream)
	var acc uint64
	var (
		a  rawAdd
		d  rawDelete
		u  rawReplace
		e  rawExec
		c  rawExecPrice
		x  rawCancel
		p  rawTrade
		n  uint16
		be = binary.BigEndian
	)
	for range b.N {
		if r.Len() == 0 {
			r.Reset(benchStream)
		}
		if err := binary.Read(r, be, &n); err != nil {
			b.Fatal(err)
		}
		t, _ := r.ReadByte()
		_ = r.UnreadByte()
		var err error
		switch t {
		case TypeAddOrder:
			err = binary.Read(r, be, &a)
			acc += a.Ref + uint64(a.Price) + uint64(a.Shares)
		case TypeOrderDelete:
			err = binary.Read(r, be, &d)
			acc += d.Ref
		case TypeOrderReplace:
			err = binary.Read(r, be, &u)
			acc += u.New + uint64(u.Price)
		case TypeOrderExecuted:
			err = binary.Read(r, be, &e)
			acc += e.Match
		case TypeOrderExecutedPrice:
			err = binary.Read(r, be, &c)
			acc += uint64(c.Price)
		case TypeOrderCancel:
			err = binary.Read(r, be, &x)
			acc += uint64(x.Shares)
		case TypeTrade:
			err = binary.Read(r, be, &p)
			acc += uint64(p.Price)
		default:
			_, err = r.Seek(int64(n), io.SeekCurrent)
			acc += uint64(t)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	sinkU64 = acc
}

// BenchmarkDecoder is Decoder.Decode over the mixed stream: message to
// tick.Event, symbol resolution and counters included.
func BenchmarkDecoder(b *testing.B) {
	d, _ := newTestDecoder(b, testDate)
	msgs := splitFrames(b, benchStream)
	slots := make([]tick.Event, 256)
	perMsg(b)
	i := 0
	for range b.N {
		if i == len(msgs) {
			i = 0
		}
		_, _ = d.Decode(msgs[i], &slots[i&255])
		i++
	}
	sinkEv = slots[0]
}

// cycleReader repeats data forever.
type cycleReader struct {
	data []byte
	pos  int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, c.data[c.pos:])
	c.pos = (c.pos + n) % len(c.data)
	return n, nil
}

// BenchmarkFileReaderDecode is the whole file path per message: framing
// through FileReader.Next (buffer refills included), then Decoder.Decode.
func BenchmarkFileReaderDecode(b *testing.B) {
	d, _ := newTestDecoder(b, testDate)
	f, err := NewFileReader(&cycleReader{data: benchStream})
	if err != nil {
		b.Fatal(err)
	}
	slots := make([]tick.Event, 256)
	perMsg(b)
	i := 0
	for range b.N {
		msg, err := f.Next()
		if err != nil {
			b.Fatal(err)
		}
		_, _ = d.Decode(msg, &slots[i&255])
		i++
	}
	sinkEv = slots[0]
}

var testDate = time.Date(2019, 12, 30, 0, 0, 0, 0, time.UTC)
