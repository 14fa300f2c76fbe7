package itch

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/tickd/tickd/tick"
)

// reencode decodes a checked message by its type and encodes it again.
func reencode(msg []byte) ([]byte, error) {
	switch msg[0] {
	case 'S':
		return AppendSystemEvent(nil, DecodeSystemEvent(msg)), nil
	case 'R':
		return AppendStockDirectory(nil, DecodeStockDirectory(msg)), nil
	case 'H':
		return AppendStockTradingAction(nil, DecodeStockTradingAction(msg)), nil
	case 'Y':
		return AppendRegSHORestriction(nil, DecodeRegSHORestriction(msg)), nil
	case 'L':
		return AppendMarketParticipantPosition(nil, DecodeMarketParticipantPosition(msg)), nil
	case 'V':
		m, err := DecodeMWCBDeclineLevel(msg)
		return AppendMWCBDeclineLevel(nil, m), err
	case 'W':
		return AppendMWCBStatus(nil, DecodeMWCBStatus(msg)), nil
	case 'K':
		return AppendIPOQuotingPeriod(nil, DecodeIPOQuotingPeriod(msg)), nil
	case 'J':
		return AppendLULDAuctionCollar(nil, DecodeLULDAuctionCollar(msg)), nil
	case 'h':
		return AppendOperationalHalt(nil, DecodeOperationalHalt(msg)), nil
	case 'A':
		return AppendAddOrder(nil, DecodeAddOrder(msg)), nil
	case 'F':
		return AppendAddOrderMPID(nil, DecodeAddOrderMPID(msg)), nil
	case 'E':
		return AppendOrderExecuted(nil, DecodeOrderExecuted(msg)), nil
	case 'C':
		return AppendOrderExecutedPrice(nil, DecodeOrderExecutedPrice(msg)), nil
	case 'X':
		return AppendOrderCancel(nil, DecodeOrderCancel(msg)), nil
	case 'D':
		return AppendOrderDelete(nil, DecodeOrderDelete(msg)), nil
	case 'U':
		return AppendOrderReplace(nil, DecodeOrderReplace(msg)), nil
	case 'P':
		return AppendTrade(nil, DecodeTrade(msg)), nil
	case 'Q':
		return AppendCrossTrade(nil, DecodeCrossTrade(msg)), nil
	case 'B':
		return AppendBrokenTrade(nil, DecodeBrokenTrade(msg)), nil
	case 'I':
		return AppendNOII(nil, DecodeNOII(msg)), nil
	case 'N':
		return AppendRetailPriceImprovement(nil, DecodeRetailPriceImprovement(msg)), nil
	case 'O':
		return AppendDirectListing(nil, DecodeDirectListing(msg)), nil
	}
	panic("reencode: unchecked type")
}

// sampleSeed returns the first n bytes of the sample file, if present.
func sampleSeed(n int) []byte {
	f, err := os.Open(samplePath)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, n)
	k, _ := io.ReadFull(f, b)
	return b[:k]
}

// FuzzMessage: Check never panics; a message it accepts decodes and encodes
// back to the same bytes (every field is kept exactly), and the event
// Decoder handles it (or rejects it) without panicking, keeping its totals.
func FuzzMessage(f *testing.F) {
	for _, m := range splitFrames(f, genStream(60, 8)) {
		f.Add(m)
	}
	for _, m := range sampleMessages() {
		f.Add(m)
	}
	f.Add([]byte{})
	f.Add([]byte{'z'})
	f.Add([]byte{'A', 0, 1})
	f.Add(AppendMWCBDeclineLevel(nil, MWCBDeclineLevel{Level1: 1}))
	f.Add(append(hdr('Q').u64(1<<63).b, make([]byte, 21)...))
	f.Fuzz(func(t *testing.T, msg []byte) {
		in := bytes.Clone(msg)
		_, err := Check(msg)
		if err == nil {
			out, rerr := reencode(msg)
			if rerr == nil && !bytes.Equal(out, msg) {
				t.Fatalf("round trip changed the message:\n % x\n % x", msg, out)
			}
		}
		d, err := NewDecoder(Options{Symbols: tick.NewSymbolTable(4)})
		if err != nil {
			t.Fatal(err)
		}
		var ev tick.Event
		_, _ = d.Decode(msg, &ev)
		_, derr := d.Decode(msg, &ev) // again: now the locate may be known
		if c := d.Counters(); c.Events+c.Ignored+c.Rejected() != 2 {
			t.Fatalf("totals: %+v", c)
		}
		if e := d.Explain(msg, derr); !errors.Is(e, derr) {
			t.Fatalf("Explain(%v) = %v, not that reason", derr, e)
		}
		for r := Reason(1); r < NumReasons; r++ { // any reason, with any message: no panic
			_ = d.Explain(msg, r).Error()
		}
		if !bytes.Equal(in, msg) {
			t.Fatal("decoding wrote into its input")
		}
	})
}

// FuzzFileReader: any byte stream is read without panicking, and reading it
// one byte per Read gives the same messages and the same final error.
func FuzzFileReader(f *testing.F) {
	small := genStream(8, 9)
	f.Add(small)
	f.Add(small[:len(small)-1])
	f.Add(append(bytes.Clone(small[:20]), 0, 0, 1))
	f.Add([]byte{0xff, 0xff, 'A'})
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(small)
	_ = zw.Close()
	f.Add(z.Bytes())
	if s := sampleSeed(400); s != nil {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := NewFileReader(bytes.NewReader(data)); err != nil {
			return // broken gzip header
		}
		got, err := readAll(t, bytes.NewReader(data))
		got1, err1 := readAll(t, iotest.OneByteReader(bytes.NewReader(data)))
		if err != err1 && (err == io.EOF || err1 == io.EOF || err == ReasonTruncated || err1 == ReasonTruncated) {
			t.Fatalf("whole: %v, byte by byte: %v", err, err1)
		}
		if len(got) != len(got1) {
			t.Fatalf("whole: %d messages, byte by byte: %d", len(got), len(got1))
		}
		for i := range got {
			if !bytes.Equal(got[i], got1[i]) || len(got[i]) == 0 {
				t.Fatalf("message %d differs or is empty", i)
			}
		}
	})
}

// sampleMessages returns the whole messages within the sample file's first
// few hundred bytes, if the file is present.
func sampleMessages() [][]byte {
	var msgs [][]byte
	s := sampleSeed(400)
	for len(s) >= 2 {
		n := int(s[0])<<8 | int(s[1])
		if n == 0 || len(s) < 2+n {
			break
		}
		msgs = append(msgs, s[2:2+n])
		s = s[2+n:]
	}
	return msgs
}
