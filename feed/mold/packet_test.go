package mold

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func testPacket(session string, seq uint64, msgs ...string) []byte {
	ss, _ := MakeSession(session)
	b := AppendHeader(nil, ss, seq, uint16(len(msgs)))
	for _, m := range msgs {
		b = AppendMessage(b, []byte(m))
	}
	return b
}

func TestParse(t *testing.T) {
	b := testPacket("SESS", 41, "alpha", "", "gamma")
	p, err := Parse(b)
	if err != nil || p.Session.String() != "SESS" || p.Seq != 41 || p.Count != 3 || p.Heartbeat() || p.End() {
		t.Fatalf("Parse = %+v %v", p, err)
	}
	it := p.Iter()
	var got []string
	for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() {
		got = append(got, fmt.Sprintf("%d:%s", seq, msg))
	}
	if want := "[41:alpha 42: 43:gamma]"; fmt.Sprint(got) != want {
		t.Fatalf("messages %v, want %s", got, want)
	}
	ss, _ := MakeSession("S")
	hb, _ := Parse(AppendHeader(nil, ss, 7, 0))
	end, _ := Parse(AppendHeader(nil, ss, 7, CountEndOfSession))
	if !hb.Heartbeat() || hb.Messages() != 0 || !end.End() || end.Messages() != 0 {
		t.Fatalf("control packets: %+v %+v", hb, end)
	}
	for name, tc := range map[string]struct {
		b   []byte
		err error
	}{
		"short":            {b[:19], ErrShort},
		"truncated length": {b[:len(b)-6], ErrTruncated},
		"truncated msg":    {b[:len(b)-1], ErrTruncated},
		"trailing":         {append(bytes.Clone(b), 0), ErrTrailing},
		"heartbeat body":   {append(AppendHeader(nil, ss, 1, 0), 0, 0), ErrTrailing},
		"seq wrap":         {testPacket("S", 1<<64-1, "a", "b"), ErrSeqWrap},
	} {
		if _, err := Parse(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", name, err, tc.err)
		}
	}
	if _, err := MakeSession("ELEVENCHARS"); err == nil {
		t.Error("MakeSession accepted 11 bytes")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(testPacket("SESS", 1, "a", "bb", "ccc"))
	f.Add(testPacket("SESS", 1))
	f.Add(testPacket("SESS", 1<<64-2, "x"))
	f.Add(testPacket("", 0, string(make([]byte, 300))))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		// A valid packet re-encodes to the same bytes.
		out := AppendHeader(nil, p.Session, p.Seq, p.Count)
		it := p.Iter()
		n := 0
		for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() {
			if seq != p.Seq+uint64(n) {
				t.Fatalf("seq %d at message %d", seq, n)
			}
			out = AppendMessage(out, msg)
			n++
		}
		if n != p.Messages() || !bytes.Equal(out, b) {
			t.Fatalf("round trip: %d messages of %d, equal %v", n, p.Messages(), bytes.Equal(out, b))
		}
	})
}
