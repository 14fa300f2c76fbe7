package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/internal/gzipfile"
	"github.com/tickd/tickd/tick"
)

// InputKind is what a Player input file holds.
type InputKind uint8

// Input kinds.
const (
	InputCapture InputKind = iota + 1 // a tickd capture (Create, Recorder)
	InputITCH                         // a NASDAQ ITCH 5.0 daily file: 2-byte length framing, plain or gzip
	InputNative                       // tickd's native binary stream (tickd gen -format native -out)
	InputCSV                          // CSV tick lines
	InputJSON                         // JSON tick lines
)

func (k InputKind) String() string {
	switch k {
	case InputCapture:
		return "capture"
	case InputITCH:
		return "itch"
	case InputNative:
		return "native"
	case InputCSV:
		return "csv"
	case InputJSON:
		return "json"
	}
	return fmt.Sprintf("input(%d)", uint8(k))
}

// ParseInputKind parses "capture", "itch", "native", "csv" or "json".
func ParseInputKind(s string) (InputKind, error) {
	for k := InputCapture; k <= InputJSON; k++ {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("replay: unknown input kind %q (want capture, itch, native, csv or json)", s)
}

// ErrGzippedCapture is DetectInput's error for a gzip-compressed capture
// or capture index (an archived one): a capture is read by offset, not as
// a stream, so it is not decompressed on the fly.
var ErrGzippedCapture = errors.New("a gzip-compressed tickd capture: gunzip it first (a capture is read by offset, through its index)")

// DetectInput says what the file at path holds: a capture by its magic
// bytes; otherwise by its name, less a .gz (every kind but a capture may be
// gzip-compressed): .csv, .json/.jsonl/.ndjson, .native/.bin, and anything
// else (.itch, NASDAQ's names) as an ITCH file. A directory, a capture's
// sidecar index (by its magic) and a gzip-compressed capture or index
// (ErrGzippedCapture) are errors.
func DetectInput(path string) (InputKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return 0, fmt.Errorf("replay: %s is a directory: give the files in it (a recorder's: %s)", path, filepath.Join(path, "*.cap"))
	}
	switch magic, gz := leadingBytes(f, len(fileMagic)); {
	case gz && (magic == fileMagic || magic == idxMagic): // as ITCH its framing would be lost at once
		return 0, fmt.Errorf("replay: %s is %w", path, ErrGzippedCapture)
	case magic == fileMagic:
		return InputCapture, nil
	case magic == idxMagic: // DIR/* catches them; as ITCH they would end the sources between files
		return 0, fmt.Errorf("replay: %s is the sidecar index of a capture, not an input: give the capture files (%s)",
			path, filepath.Join(filepath.Dir(path), "*.cap"))
	}
	name := strings.ToLower(filepath.Base(path))
	name = strings.TrimSuffix(name, ".gz")
	switch filepath.Ext(name) {
	case ".csv":
		return InputCSV, nil
	case ".json", ".jsonl", ".ndjson":
		return InputJSON, nil
	case ".native", ".bin":
		return InputNative, nil
	}
	return InputITCH, nil
}

// leadingBytes returns up to n bytes from the start of what r holds,
// decompressed when it is gzip (gz).
func leadingBytes(r io.Reader, n int) (lead string, gz bool) {
	zr, gz, err := gzipfile.Open(bufio.NewReaderSize(r, 512))
	if err != nil {
		return "", gz
	}
	b := make([]byte, n)
	k, _ := io.ReadFull(zr, b)
	return string(b[:k]), gz
}

func (k InputKind) feedFormat() feed.Format {
	switch k {
	case InputCSV:
		return feed.FormatCSV
	case InputJSON:
		return feed.FormatJSON
	}
	return feed.FormatNative
}

// gunzipped returns r decompressed if it starts with the gzip magic, else
// r as it is.
func gunzipped(r io.Reader) (io.Reader, error) {
	zr, _, err := gzipfile.Open(bufio.NewReaderSize(r, fileBuffer))
	if err != nil {
		return nil, fmt.Errorf("gzip header: %w", err)
	}
	return zr, nil
}

// countingReader counts the bytes read from a file, for the progress bar.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// stream is one source being played into its own Sink: a capture's source
// (connection, file, ITCH session) or a whole input file. Exactly one of
// fdec, idec and raw is set. Only the Run goroutine touches it.
type stream struct {
	name     string
	id       uint16
	sink     feed.Sink
	slots    []tick.Event // claimed; nil between batches
	k        int          // slots filled
	fdec     *feed.Decoder
	idec     *itch.Decoder
	raw      RawSink   // Raw replay: no decoder
	rawErr   error     // the first Flush error of raw
	pending  []byte    // feed decoders: a partial frame or line carried to the next read
	recorded int64     // a capture's feed decoder: the receive time recorded with the read decoded
	lastKind tick.Kind // of the last event handed on, to end with one EndOfStream
	lastTs   int64     // TsEvent of the last event handed on
}

// itchTime is the ITCH message's 6-byte timestamp (ns since midnight), or
// -1 when msg is too short to hold one.
func itchTime(msg []byte) int64 {
	if len(msg) < 11 {
		return -1
	}
	_ = msg[10]
	return int64(msg[5])<<40 | int64(msg[6])<<32 | int64(msg[7])<<24 | int64(msg[8])<<16 | int64(msg[9])<<8 | int64(msg[10])
}

// rejected is how many frames, lines or messages s's decoder rejected.
func (s *stream) rejected() uint64 {
	switch {
	case s.fdec != nil:
		return s.fdec.Stats().Errors
	case s.idec != nil:
		c := s.idec.Counters()
		return c.Rejected()
	}
	return 0
}
