package gzipfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
)

func member(t *testing.T, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestOpen: every way a file can end, and what is read before it.
func TestOpen(t *testing.T) {
	a, b := bytes.Repeat([]byte("first member "), 3000), bytes.Repeat([]byte("second "), 5000)
	ma, mb := member(t, a), member(t, b)
	for _, c := range []struct {
		name    string
		file    []byte
		gz      bool
		want    []byte // read before the end
		wantErr error  // nil: io.EOF
	}{
		{"plain", a, false, a, nil},
		{"one member", ma, true, a, nil},
		{"two members", join(ma, mb), true, join(a, b), nil},
		{"a newline after", join(ma, []byte("\n")), true, a, ErrTrailingGarbage},
		{"nine bytes after", join(ma, []byte("123456789")), true, a, ErrTrailingGarbage},
		{"many bytes after", join(ma, bytes.Repeat([]byte("x"), 100)), true, a, ErrTrailingGarbage},
		{"the second member's header cut short", join(ma, mb[:5]), true, a, io.ErrUnexpectedEOF},
		{"the second member cut short", join(ma, mb[:len(mb)/2]), true, nil, io.ErrUnexpectedEOF},
		{"the only member cut short", ma[:len(ma)/2], true, nil, io.ErrUnexpectedEOF},
	} {
		r, gz, err := Open(bufio.NewReader(bytes.NewReader(c.file)))
		if err != nil || gz != c.gz {
			t.Errorf("%s: Open: gzip %v, %v; want gzip %v", c.name, gz, err, c.gz)
			continue
		}
		got, err := io.ReadAll(r)
		if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
			t.Errorf("%s: read ended with %v, want %v", c.name, err, c.wantErr)
		}
		if c.want != nil && !bytes.Equal(got, c.want) {
			t.Errorf("%s: read %d bytes, want %d", c.name, len(got), len(c.want))
		}
	}
	if _, _, err := Open(bufio.NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}))); err == nil {
		t.Error("a broken first header opened")
	}
}

// TestReadErrorAfterMember: a read that fails where a member ends (the
// disk's error; here a directory's, a real one) is that error, not the
// clean end of the file: what follows it is not known. Files of many
// small members (bgzip's, of 64 KiB each) end a member every few reads.
func TestReadErrorAfterMember(t *testing.T) {
	a := bytes.Repeat([]byte("first member "), 3000)
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	r, _, err := Open(bufio.NewReader(io.MultiReader(bytes.NewReader(member(t, a)), dir)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, syscall.EISDIR) {
		t.Errorf("read ended with %v, want the read's error", err)
	}
	if !bytes.Equal(got, a) {
		t.Errorf("read %d bytes, want the member's %d", len(got), len(a))
	}
}
