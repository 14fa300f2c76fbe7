package soupbin

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// stream builds a byte stream of assorted packets and the payloads expected back.
func stream() ([]byte, [][]byte) {
	var b []byte
	var want [][]byte
	add := func(typ byte, p []byte) {
		b = AppendPacket(b, typ, p)
		want = append(want, append([]byte{typ}, p...))
	}
	add(TypeLoginAccepted, AppendLoginAccepted(nil, "SESS01", 42)[3:])
	for i := range 50 {
		add(TypeSequenced, bytes.Repeat([]byte{byte('a' + i%26)}, i%40+1))
		if i%7 == 0 {
			add(TypeServerHeartbeat, nil)
		}
	}
	add(TypeDebug, []byte("hello"))
	add(TypeEndOfSession, nil)
	return b, want
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		max  int
		typ  byte
		pay  string
		n    int
		err  error
	}{
		{"empty", nil, 100, 0, "", 0, nil},
		{"one byte", []byte{0}, 100, 0, "", 0, nil},
		{"partial", []byte{0, 3, 'S', 'x'}, 100, 0, "", 0, nil},
		{"heartbeat", []byte{0, 1, 'H'}, 100, 'H', "", 3, nil},
		{"data", []byte{0, 3, 'S', 'x', 'y', 0, 1}, 100, 'S', "xy", 5, nil},
		{"zero length", []byte{0, 0, 'H'}, 100, 0, "", 0, ErrEmptyPacket},
		{"too large", []byte{0, 101}, 100, 0, "", 0, ErrTooLarge},
		{"unknown type", []byte{0, 1, 'q'}, 100, 0, "", 0, ErrUnknownType},
	} {
		typ, p, n, err := Parse(tc.in, tc.max)
		if typ != tc.typ || string(p) != tc.pay || n != tc.n || !errors.Is(err, tc.err) {
			t.Errorf("%s: Parse = %q %q %d %v, want %q %q %d %v", tc.name, typ, p, n, err, tc.typ, tc.pay, tc.n, tc.err)
		}
	}
}

// readAll drains r, returning type+payload of each packet.
func readAll(r *Reader) ([][]byte, error) {
	var got [][]byte
	for {
		typ, p, err := r.Next()
		if err != nil {
			return got, err
		}
		got = append(got, append([]byte{typ}, p...))
	}
}

func TestReaderSplitReads(t *testing.T) {
	b, want := stream()
	for _, name := range []string{"whole", "onebyte", "half", "data-err"} {
		var rd io.Reader = bytes.NewReader(b)
		switch name {
		case "onebyte":
			rd = iotest.OneByteReader(rd)
		case "half":
			rd = iotest.HalfReader(rd)
		case "data-err":
			rd = iotest.DataErrReader(rd)
		}
		got, err := readAll(NewReader(rd, 64))
		if err != io.EOF {
			t.Fatalf("%s: err %v, want io.EOF", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d packets, want %d", name, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: packet %d = %q, want %q", name, i, got[i], want[i])
			}
		}
	}
}

func TestReaderErrors(t *testing.T) {
	_, err := readAll(NewReader(bytes.NewReader([]byte{0, 1, 'H', 0, 5, 'S', 1}), 64))
	if want := `unexpected EOF: stream ended 4 bytes into a packet of 7 (type 'S', stream offset 3)`; !errors.Is(err, io.ErrUnexpectedEOF) || err.Error() != want {
		t.Errorf("truncated: %v, want io.ErrUnexpectedEOF as %q", err, want)
	}
	_, err = readAll(NewReader(bytes.NewReader([]byte{0}), 64))
	if want := `unexpected EOF: stream ended inside a packet's length field (stream offset 0)`; !errors.Is(err, io.ErrUnexpectedEOF) || err.Error() != want {
		t.Errorf("truncated length: %v, want io.ErrUnexpectedEOF as %q", err, want)
	}
	big := AppendPacket(AppendPacket(nil, 'H', nil), 'S', make([]byte, 100))
	_, err = readAll(NewReader(bytes.NewReader(big), 64))
	if !errors.Is(err, ErrTooLarge) || !bytes.Contains([]byte(err.Error()), []byte("offset 3")) {
		t.Errorf("oversized: %v, want ErrTooLarge at offset 3", err)
	}
}

func TestLoginPackets(t *testing.T) {
	cr := Credentials{Username: "bob", Password: "s3cret", Session: "S1"}
	pkt := AppendLoginRequest(nil, cr, 1234)
	typ, p, n, err := Parse(pkt, MaxLength)
	if err != nil || typ != TypeLoginRequest || n != len(pkt) || n != 3+loginRequestLen {
		t.Fatalf("Parse login = %q %d %v", typ, n, err)
	}
	u, pw, s, seq, err := ParseLoginRequest(p)
	if err != nil || string(u) != "bob" || string(pw) != "s3cret" || string(s) != "S1" || seq != 1234 {
		t.Fatalf("ParseLoginRequest = %q %q %q %d %v", u, pw, s, seq, err)
	}
	pkt = AppendLoginAccepted(nil, "ABCDEFGHIJ", 18446744073709551615)
	s, seq, err = ParseLoginAccepted(pkt[3:])
	if err != nil || string(s) != "ABCDEFGHIJ" || seq != 18446744073709551615 {
		t.Fatalf("ParseLoginAccepted = %q %d %v", s, seq, err)
	}
	// Left-padded numbers (as some peers send) and blank (= 0) are read too.
	acc := []byte("S1        " + "                  77")
	if _, seq, err := ParseLoginAccepted(acc); err != nil || seq != 77 {
		t.Errorf("left-padded seq = %d %v", seq, err)
	}
	acc = []byte("S1        " + "                    ")
	if _, seq, err := ParseLoginAccepted(acc); err != nil || seq != 0 {
		t.Errorf("blank seq = %d %v", seq, err)
	}
	for _, bad := range []string{"S1        12x4                ", "S1        99999999999999999999"} {
		if _, _, err := ParseLoginAccepted([]byte(bad)); !errors.Is(err, ErrBadSequence) {
			t.Errorf("ParseLoginAccepted(%q) err %v, want ErrBadSequence", bad, err)
		}
	}
	if _, _, err := ParseLoginAccepted([]byte("short")); !errors.Is(err, ErrBadLogin) {
		t.Errorf("short accept: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	b, _ := stream()
	f.Add(b, uint16(64), uint8(7))
	f.Add([]byte{0, 0}, uint16(64), uint8(1))
	f.Add([]byte{0xff, 0xff, 'S'}, uint16(0xffff), uint8(2))
	f.Add(AppendLoginRequest(nil, Credentials{Username: "u", Password: "p"}, 9), uint16(100), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, maxLen uint16, chunk uint8) {
		// Whole-buffer Parse and a Reader fed in chunks must agree exactly.
		var want [][]byte
		var wantErr error
		rest := in
		for {
			typ, p, n, err := Parse(rest, max(int(maxLen), 1))
			if err != nil {
				wantErr = err
				break
			}
			if n == 0 {
				break
			}
			if n != 3+len(p) || int(rest[0])<<8|int(rest[1]) != n-2 || typ != rest[2] {
				t.Fatalf("inconsistent Parse: n=%d len(p)=%d", n, len(p))
			}
			if typ == TypeLoginRequest {
				ParseLoginRequest(p)
			}
			if typ == TypeLoginAccepted {
				ParseLoginAccepted(p)
			}
			want = append(want, append([]byte{typ}, p...))
			rest = rest[n:]
		}
		r := NewReader(&chunkReader{b: in, n: int(chunk%16) + 1}, max(int(maxLen), 1))
		got, err := readAll(r)
		if len(got) != len(want) {
			t.Fatalf("Reader got %d packets, Parse %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("packet %d differs", i)
			}
		}
		switch {
		case wantErr != nil && !errors.Is(err, wantErr):
			t.Fatalf("Reader err %v, Parse err %v", err, wantErr)
		case wantErr == nil && len(rest) == 0 && err != io.EOF:
			t.Fatalf("Reader err %v, want EOF", err)
		case wantErr == nil && len(rest) > 0 && !errors.Is(err, io.ErrUnexpectedEOF):
			t.Fatalf("Reader err %v, want ErrUnexpectedEOF", err)
		}
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}
