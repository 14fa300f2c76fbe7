package main

import (
	"strings"
	"testing"
)

// TestCheckFused: -fused takes one feed source and one shard, and says
// what is wrong otherwise.
func TestCheckFused(t *testing.T) {
	t.Setenv("TICKD_SOUPBIN_USERNAME", "u") // sources() loads the soupbin:// credentials
	for _, c := range []struct {
		args []string
		want string // "" for valid
	}{
		{[]string{}, ""}, // the default listener
		{[]string{"-feed-listen", "", "-feed-dial", "127.0.0.1:1"}, ""},
		{[]string{"-feed-listen", "", "-feed-tail", "/tmp/x.csv", "-feed-format", "csv"}, ""},
		{[]string{"-feed-format", "itch", "-feed-dial", "soupbin://127.0.0.1:1"}, ""}, // ITCH: no listener
		{[]string{"-shards", "2"}, "one shard"},
		{[]string{"-feed-dial", "127.0.0.1:1"}, "one feed source, not 2"},
		{[]string{"-feed-listen", ""}, "one feed source, not 0"},
		{[]string{"-feed-listen", "", "-feed-kafka", "kafka://127.0.0.1:1/t"}, "feed-kafka"},
	} {
		cfg, err := serveDefaults(append([]string{"-fused"}, c.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		src, err := cfg.sources()
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		err = cfg.checkFused(src)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
