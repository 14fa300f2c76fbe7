package feed

import (
	"fmt"

	"github.com/tickd/tickd/tick"
)

// Sink is where a source writes decoded events, in place. Implemented by
// engine.Input. One goroutine (the source's I/O goroutine) calls it.
type Sink interface {
	Claim(n int) []tick.Event // 1..n slots to decode into (waits while full); nil when shutting down
	Commit(k int)             // publish the first k claimed slots
	Close()                   // this source is done (connection closed); no calls after
}

// SinkOpener opens the Sink for one source (a connection or a file). The
// source name is the one used in error reports, e.g.
// "tcp 127.0.0.1:5000<-127.0.0.1:43122" or a file path.
type SinkOpener func(source string) (Sink, error)

// Format names a wire format.
type Format uint8

// Formats. The zero value is the native binary format.
const (
	FormatNative Format = iota // length-prefixed binary frames (see the package doc)
	FormatCSV                  // ts,symbol,price,size[,side] lines
	FormatJSON                 // one flat JSON object per line
	formatCount
)

var formatNames = [formatCount]string{"native", "csv", "json"}

func (f Format) String() string {
	if f < formatCount {
		return formatNames[f]
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// ParseFormat parses "native", "csv" or "json".
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if s == n {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("feed: unknown format %q (want native, csv or json)", s)
}
