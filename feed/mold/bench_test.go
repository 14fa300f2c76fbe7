package mold

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

var sinkN int

// benchPackets is 100 packets of 30 ITCH-sized (36-byte) messages each.
func benchPackets() [][]byte {
	ss, _ := MakeSession("BENCH")
	msg := make([]byte, 36)
	msg[0] = 'A'
	var pkts [][]byte
	seq := uint64(1)
	for range 100 {
		p := AppendHeader(nil, ss, seq, 30)
		for range 30 {
			p = AppendMessage(p, msg)
		}
		pkts = append(pkts, p)
		seq += 30
	}
	return pkts
}

func totalLen(pkts [][]byte) (n int64) {
	for _, p := range pkts {
		n += int64(len(p))
	}
	return n
}

func BenchmarkParse(b *testing.B) {
	pkts := benchPackets()
	b.SetBytes(totalLen(pkts))
	b.ReportAllocs()
	for b.Loop() {
		for _, buf := range pkts {
			p, err := Parse(buf)
			if err != nil {
				b.Fatal(err)
			}
			it := p.Iter()
			for _, msg, ok := it.Next(); ok; _, msg, ok = it.Next() {
				sinkN += len(msg)
			}
		}
	}
}

// BenchmarkNaive is the obvious baseline: binary.Read of the header into a
// struct, then a fresh slice per message.
func BenchmarkNaive(b *testing.B) {
	pkts := benchPackets()
	b.SetBytes(totalLen(pkts))
	b.ReportAllocs()
	type header struct {
		Session [10]byte
		Seq     uint64
		Count   uint16
	}
	for b.Loop() {
		for _, buf := range pkts {
			r := bytes.NewReader(buf)
			var h header
			if err := binary.Read(r, binary.BigEndian, &h); err != nil {
				b.Fatal(err)
			}
			for range h.Count {
				var l uint16
				binary.Read(r, binary.BigEndian, &l)
				msg := make([]byte, l)
				if _, err := io.ReadFull(r, msg); err != nil {
					b.Fatal(err)
				}
				sinkN += len(msg)
			}
		}
	}
}

// BenchmarkReceiverInOrder runs packets through the receiver's session,
// sequence and duplicate tracking (no sockets): the in-order hot path.
func BenchmarkReceiverInOrder(b *testing.B) {
	pkts := benchPackets()
	r := &Receiver{opts: ReceiverOptions{MaxHeld: 16}, pool: make(chan []byte, 1), timer: time.NewTimer(time.Hour)}
	r.timer.Stop()
	r.h = func(seq uint64, msg []byte) { sinkN += len(msg) }
	seq := uint64(1)
	b.SetBytes(totalLen(pkts))
	b.ReportAllocs()
	for b.Loop() {
		for _, buf := range pkts {
			binary.BigEndian.PutUint64(buf[10:18], seq)
			seq += 30
			r.packet(datagram{buf: buf, n: len(buf)})
		}
	}
	if r.st.messages.Load() != seq-1 || r.gapOpen {
		b.Fatalf("delivered %d of %d", r.st.messages.Load(), seq-1)
	}
}
