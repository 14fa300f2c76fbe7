package soupbin

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

var sinkN int

// benchStream is 1000 sequenced packets carrying 36-byte ITCH Add Orders,
// with a server heartbeat every 100.
func benchStream() []byte {
	var b []byte
	msg := make([]byte, 36)
	msg[0] = 'A'
	for i := range 1000 {
		b = AppendPacket(b, TypeSequenced, msg)
		if i%100 == 99 {
			b = AppendPacket(b, TypeServerHeartbeat, nil)
		}
	}
	return b
}

func BenchmarkParse(b *testing.B) {
	buf := benchStream()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		for rest := buf; len(rest) > 0; {
			typ, p, n, err := Parse(rest, DefaultMaxLength)
			if err != nil || n == 0 {
				b.Fatal(err)
			}
			if typ == TypeSequenced {
				sinkN += len(p)
			}
			rest = rest[n:]
		}
	}
}

func BenchmarkReader(b *testing.B) {
	buf := benchStream()
	br := bytes.NewReader(buf)
	r := NewReader(br, 0)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(buf)
		r.Reset(br)
		for {
			typ, p, err := r.Next()
			if err != nil {
				break
			}
			if typ == TypeSequenced {
				sinkN += len(p)
			}
		}
	}
}

// BenchmarkNaive is the obvious baseline: binary.Read for the length, a
// fresh slice per packet, io.ReadFull.
func BenchmarkNaive(b *testing.B) {
	buf := benchStream()
	br := bytes.NewReader(buf)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(buf)
		for {
			var l uint16
			if err := binary.Read(br, binary.BigEndian, &l); err != nil {
				break
			}
			pkt := make([]byte, l)
			if _, err := io.ReadFull(br, pkt); err != nil {
				b.Fatal(err)
			}
			if pkt[0] == TypeSequenced {
				sinkN += len(pkt) - 1
			}
		}
	}
}
