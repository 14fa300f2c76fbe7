package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/feed"
)

func TestParseURL(t *testing.T) {
	c, err := ParseURL("kafka://b1:9092,b2:9093/md.trades?group=g1&format=json&commit=250ms", feed.FormatNative)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Brokers, ",") != "b1:9092,b2:9093" || c.Topic != "md.trades" || c.Group != "g1" ||
		c.Format != feed.FormatJSON || c.CommitInterval != 250*time.Millisecond {
		t.Errorf("parsed %+v", c)
	}
	if got, want := c.String(), "kafka://b1:9092,b2:9093/md.trades?commit=250ms&format=json&group=g1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if back, err := ParseURL(c.String(), feed.FormatNative); err != nil || back.String() != c.String() {
		t.Errorf("round trip: %+v, %v", back, err)
	}

	d, err := ParseURL("kafka://127.0.0.1:9092/ticks", feed.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	if d.Group != DefaultGroup || d.Format != feed.FormatCSV || d.CommitInterval != DefaultCommitInterval {
		t.Errorf("defaults: %+v", d)
	}

	for _, bad := range []struct{ url, want string }{
		{"tcp://h:1/t", "want kafka://"},
		{"kafka://h:1", "no /TOPIC"},
		{"kafka://h:1/", "topic"},
		{"kafka://h:1/a b", "topic"},
		{"kafka://h/t", "broker"},
		{"kafka://h:0/t", "bad port"},
		{"kafka://h:1,/t", "broker"},
		{"kafka://u:p@h:1/t", "user:password"},
		{"kafka://h:1/t?format=itch", "unknown format"},
		{"kafka://h:1/t?commit=0s", "positive duration"},
		{"kafka://h:1/t?group=", "one non-empty value"},
		{"kafka://h:1/t?group=a&group=b", "one non-empty value"},
		{"kafka://h:1/t?from=start", "unknown option"},
	} {
		_, err := ParseURL(bad.url, feed.FormatNative)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseURL(%q) = %v, want an error with %q", bad.url, err, bad.want)
		}
	}
}
