package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/engine"
)

// TestConfigSizeLimit: a config file over 1 MiB is refused by its size, with
// the path and size in the message; one of exactly 1 MiB still loads.
func TestConfigSizeLimit(t *testing.T) {
	dir := t.TempDir()
	var errb bytes.Buffer
	var h serveConfig
	fs := newServeFlags(&h, &errb)

	// Exactly at the limit: a valid setting padded with comment lines.
	atLimit := filepath.Join(dir, "at.yaml")
	body := []byte("shards: 3\n")
	line := []byte("#" + strings.Repeat("x", 62) + "\n")
	for len(body)+len(line) <= maxConfigSize {
		body = append(body, line...)
	}
	body = append(body, bytes.Repeat([]byte{'\n'}, maxConfigSize-len(body))...)
	if len(body) != maxConfigSize {
		t.Fatalf("test file is %d bytes", len(body))
	}
	if err := os.WriteFile(atLimit, body, 0o600); err != nil {
		t.Fatal(err)
	}
	fc, err := loadConfigFile(atLimit, fs)
	if err != nil || fc.Settings["shards"] != "3" {
		t.Fatalf("1 MiB config: %v %+v", err, fc)
	}

	// One byte over, and a sparse 4 GiB file: refused by stat, so the large
	// one fails as fast as the small one (it is never read).
	for _, size := range []int64{maxConfigSize + 1, 4 << 30} {
		path := filepath.Join(dir, fmt.Sprintf("big%d.yaml", size))
		if err := os.WriteFile(path, []byte("shards: 3\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		_, err := loadConfigFile(path, fs)
		want := fmt.Sprintf("config: %s: %d bytes, more than the 1 MiB limit", path, size)
		if err == nil || err.Error() != want {
			t.Errorf("size %d: got %v, want %q", size, err, want)
		}
	}
}

// TestConfigRuleUnknownKey: a misspelt key inside a rule is an error with
// its line, like a misspelt top-level setting; every real key is accepted.
func TestConfigRuleUnknownKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	var errb bytes.Buffer
	var h serveConfig
	fs := newServeFlags(&h, &errb)

	body := "rules:\n  - id: r\n    type: zscore\n    k: 2\n    cooldwn: 5s\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfigFile(path, fs)
	want := fmt.Sprintf("config: %s line 5: rules[0]: unknown key %q", path, "cooldwn")
	if err == nil || err.Error() != want {
		t.Errorf("misspelt rule key: got %v, want %q", err, want)
	}

	all := "rules:\n  - {id: a, type: price, symbols: [X], dir: up, level: \"1\", percent: 1, window: 1s,\n" +
		"     fast: 1s, slow: 2s, k: 1, bps: 1, levels: 1, hysteresis: 0.5, cooldown: 1s}\n"
	if err := os.WriteFile(path, []byte(all), 0o600); err != nil {
		t.Fatal(err)
	}
	fc, err := loadConfigFile(path, fs)
	if err != nil || len(fc.Rules) != 1 || fc.Rules[0].Cooldown != "1s" || fc.Rules[0].Levels != 1 {
		t.Errorf("every known rule key: %v %+v", err, fc)
	}
}

// TestConfigPriceRuleLevel: a price rule without a level, or with one not
// above 0, could never fire: it is refused when the config is loaded.
func TestConfigPriceRuleLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	for body, want := range map[string]string{
		"rules:\n  - id: nolevel\n    type: price\n":                `config: ` + path + ` line 2: rule "nolevel": level 0 must be > 0`,
		"rules:\n  - id: neg\n    type: price\n    level: \"-5\"\n": `config: ` + path + ` line 2: rule "neg": level -5 must be > 0`,
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		var h serveConfig
		fc, err := loadConfigFile(path, newServeFlags(&h, &errb))
		if err != nil {
			t.Fatal(err)
		}
		h.rules = fc.Rules
		if _, err := h.engineConfig(); err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", body, err, want)
		}
	}
}

// TestConfigNoRules: a config file without rules gets the demo rules, and
// one with an empty list (or a rules key with nothing under it) gets none, for a deployment that wants bars and
// statistics without the demo's signals.
func TestConfigNoRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	for body, want := range map[string]int{"sma: 20\n": len(engine.DefaultRules()), "rules: []\n": 0,
		"rules:\n#  - id: x\n#    type: zscore\n": 0} { // every rule commented out
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		var h serveConfig
		fc, err := loadConfigFile(path, newServeFlags(&h, io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		h.rules = fc.Rules
		if ec, err := h.engineConfig(); err != nil || len(ec.Rules) != want {
			t.Errorf("%q: %d rules (%v), want %d", body, len(ec.Rules), err, want)
		}
	}
}

// serveWithConfig writes body to the config file path and runs serve on it
// under a context already cancelled, so that a config that passed would
// start and stop at once, and returns serve's error.
func serveWithConfig(t *testing.T, path, body string) error {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return runServe(ctx, []string{"-config", path, "-nats-listen", "off", "-feed-listen", ""}, io.Discard, io.Discard)
}

// TestConfigRuleErrorsSayWhere: serve refuses a bad rule with one line
// naming the file, the line, the rule and the field, whichever stage finds
// it: decoding the file, parsing a field, the rule's checks, or the engine
// checking the rules together.
func TestConfigRuleErrorsSayWhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	ok := "  - id: ok\n    type: zscore\n    k: 1\n" // lines 2-4
	for body, want := range map[string]string{
		ok + "  - id: z\n    type: zscore\n    k: 0\n":                                                `line 5: rule "z": k 0 must be > 0`,
		ok + "  - type: zscore\n    k: abc\n    id: z\n":                                              `line 6: rule "z": k: want a number, not "abc"`,
		ok + "  - id: s\n    type: zscore\n    k: 1\n    symbols: AAPL\n":                             `line 8: rule "s": symbols: want a list, not "AAPL"`,
		ok + "  - id: m\n    type: move\n    percent: 1\n    window: 1x\n":                            `line 8: rule "m": window: time: unknown unit "x" in duration "1x"`,
		ok + "  - id: p\n    type: price\n    level: \"1\"\n  - id: ok\n    type: zscore\n    k: 2\n": `line 8: rule "ok": id used twice (first at line 2)`,
		ok + "  - id: m\n    type: move\n    percent: 1\n    window: 1000000001ns\n":                  `line 5: rule "m": window 1.000000001s: not a multiple of 20 buckets in ns`,
		ok + "  - 7\n":                      `line 5: rules[1]: want a rule (id: …, type: …), not "7"`,
		ok + "  - type: zscore\n    k: 1\n": `line 5: rules[1]: empty id`,
	} {
		err := serveWithConfig(t, path, "rules:\n"+body)
		if want = "config: " + path + " " + want; err == nil || err.Error() != want {
			t.Errorf("rules:\n%s\ngot  %v\nwant %s", body, err, want)
		}
	}
}

// TestDemoRulesFollowSMA: with no rules configured, a -sma below what the
// demo's zscore_3 needs (its k 3 is past any z-score over 10 trades) leaves
// that demo rule out, saying so, instead of refusing to start over a rule
// nobody wrote; -sma 11 keeps it.
func TestDemoRulesFollowSMA(t *testing.T) {
	for sma, want := range map[string]int{"10": len(engine.DefaultRules()) - 1, "11": len(engine.DefaultRules())} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // start, then stop at once
		var errb syncBuffer
		err := runServe(ctx, []string{"-sma", sma, "-nats-listen", "off", "-feed-listen", ""}, io.Discard, &errb)
		if err != nil {
			t.Fatalf("-sma %s with the demo rules: %v\n%s", sma, err, errb.String())
		}
		if left := strings.Contains(errb.String(), `"rule":"zscore_3","sma":10,"max_zscore":2.846`); left != (sma == "10") {
			t.Errorf("-sma %s: zscore_3 said to be left out: %v\n%s", sma, left, errb.String())
		}
		var h serveConfig
		if err := newServeFlags(&h, io.Discard).Parse([]string{"-sma", sma}); err != nil {
			t.Fatal(err)
		}
		if ec, err := h.engineConfig(); err != nil || len(ec.Rules) != want {
			t.Errorf("-sma %s: %d demo rules (%v), want %d", sma, len(ec.Rules), err, want)
		}
	}
}

// TestConfigSettingErrorsSayWhere: a setting of the config file that its
// flag refuses names the file and its line; bar intervals and windows are
// checked as they are set, not later without saying where they came from.
func TestConfigSettingErrorsSayWhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	for body, want := range map[string]string{
		"sma: 5\nbars: [1s, 1x]\n": `line 2: bars: "1s,1x": time: unknown unit "x" in duration "1x"`,
		"windows: [-1s]\n":         `line 1: windows: "-1s": -1s must be > 0`,
		"bars: 0s\n":               `line 1: bars: "0s": 0s must be > 0`,
		"\n\nshards: many\n":       `line 3: shards: "many": parse error`,
	} {
		err := serveWithConfig(t, path, body)
		if want = "config: " + path + " " + want; err == nil || err.Error() != want {
			t.Errorf("%q:\ngot  %v\nwant %s", body, err, want)
		}
	}
}

// TestConfigYAMLErrorsSayLine: a file that is not YAML, or not one
// mapping of settings, is refused on one line naming the file and the
// line, the first line too (yaml.v3 leaves it out), with no Go type names;
// a users file's errors say where as well. A file of nothing, "---" or
// "~" alone has no settings and is no error, and neither is an empty
// document before or after the settings (a header of comments ended by
// "---", a file ending in "---").
func TestConfigYAMLErrorsSayLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	for body, want := range map[string]string{
		"```yaml\nshards: 1\n":                `line 1: not YAML: found character that cannot start any token`,
		"shards: 1\n```yaml\n":                `line 2: not YAML: found character that cannot start any token`,
		"\tshards: 1\n":                       `line 1: not YAML: found character that cannot start any token`,
		"hello\n":                             `line 1: want settings (key: value, one a line), not "hello"`,
		"- shards\n":                          `line 1: want settings (key: value, one a line), not a list`,
		"shards: 1\nshards: 2\n":              `line 2: mapping key "shards" already defined at line 1`,
		"shards: 1\nbars: 1s\n- sma\n":        `line 3: not YAML: did not find expected key`,
		"shards: 1\nbars: [1s, 1m\nsma: 3\n":  `line 2: not YAML: did not find expected ',' or ']'`,
		"shards: 1\nsma: *s\nbars: [*b]\n":    `line 2: not YAML: unknown anchor 's' referenced`,
		"shards: &b 1\nsma: *bb\n":            `line 2: not YAML: unknown anchor 'bb' referenced`,
		"shards: 1\n---\nbars: x\n":           `line 2: a second YAML document (after ---): a config file is one`,
		"shards: 1\n---\na: b\nc: d\ne: `f\n": `line 5: not YAML: found character that cannot start any token`,
		"":                                    "",
		"---\n":                               "",
		"~\n":                                 "",
		"shards: 1\n---\n":                    "",
		"# header\n---\n# more\n---\nshards: 1\n---\n": "",
		"~\n---\n---\nshards: 1\n---\nbars: x\n":       `line 5: a second YAML document (after ---): a config file is one`,
		"shards: 1\n---\n# end\n---\n":                 "",
		"shards: 1\n---\n---\nbars: x\n":               `line 3: a second YAML document (after ---): a config file is one`,
	} {
		err := serveWithConfig(t, path, body)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v, want no error", body, err)
			}
			continue
		}
		if want = "config: " + path + " " + want; err == nil || err.Error() != want {
			t.Errorf("%q:\ngot  %v\nwant %s", body, err, want)
		}
	}
	// The settings after a document of comments alone (a header) are read.
	var cfg serveConfig
	if fc, err := parseConfig(path, []byte("---\n# header\n---\nshards: 3\n"), newServeFlags(&cfg, io.Discard)); err != nil || fc.Settings["shards"] != "3" {
		t.Errorf("settings after a header document: %v, want shards 3 read", err)
	}
	// The password file of the users file with a second document, so that
	// the first document alone would load.
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "p"), []byte("secret-password-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		"`users\n":                            `line 1: not YAML: found character that cannot start any token`,
		"users:\n  - name: a\n    bogus: 1\n": `line 3: field bogus not found`,
		"users: 3\n":                          "line 1: cannot unmarshal !!int `3` into a list",
		"- a\n":                               "line 1: cannot unmarshal !!seq into a mapping",
		"users:\n  - name: [a]\n":             "line 2: cannot unmarshal !!seq into string",
		"users:\n  - name: a\n    role: tickd\n    password_file: p\n---\nusers:\n  - name: b\n": `line 5: a second YAML document (after ---): a nats-users file is one`,
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := loadUsers(path, "tickd")
		if want = "nats-users: " + path + " " + want; err == nil || err.Error() != want {
			t.Errorf("users %q:\ngot  %v\nwant %s", body, err, want)
		}
	}
	// A users file takes the empty documents a config file takes: its
	// users after a header (comments ended by "---"), a file ending in "---".
	for _, body := range []string{
		"# header\n---\n# more\n---\nusers:\n  - name: a\n    role: tickd\n    password_file: p\n",
		"---\n~\n---\nusers:\n  - name: a\n    role: tickd\n    password_file: p\n---\n# end\n---\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if users, _, err := loadUsers(path, "tickd"); err != nil || len(users) != 1 || users[0].Name != "a" {
			t.Errorf("users %q: %v (%d users), want user a read", body, err, len(users))
		}
	}
	// With no document holding anything, there are no users.
	for _, body := range []string{"", "# users go here\n", "# header\n---\n# more\n---\n"} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadUsers(path, "tickd"); err == nil || err.Error() != "nats-users: "+path+": no users" {
			t.Errorf("users %q: %v, want no users", body, err)
		}
	}
}

// configErrorSaysWhere is how every error about a config file's content
// begins, on one line.
var configErrorSaysWhere = regexp.MustCompile(`^config: fuzz\.yaml line [1-9][0-9]*: [^\n]+$`)

// FuzzConfig: any bytes as a config file either parse or fail with a
// "config:" error naming its line, never a panic; what parses applies to the flags and
// builds (or refuses) an engine configuration without a panic either.
func FuzzConfig(f *testing.F) {
	f.Add([]byte("feed-listen: 127.0.0.1:7000\nsma: 20\nwindows: [1s, 1m]\n"))
	f.Add([]byte("rules:\n  - id: a\n    type: price\n    level: \"190.00\"\n    symbols: [AAPL]\n"))
	f.Add([]byte("rules:\n  - id: z\n    type: zscore\n    k: 3\n    cooldown: 30s\n  - id: m\n    type: ma_cross\n    fast: 2s\n    slow: 20s\n"))
	f.Add([]byte("rules: 7\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("shards: -1\nring-size: 3\n"))
	f.Add([]byte("rules:\n  - {id: s, type: spread, bps: 1e309}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg serveConfig
		fs := newServeFlags(&cfg, io.Discard)
		fc, err := parseConfig("fuzz.yaml", data, fs)
		if err != nil {
			if !configErrorSaysWhere.MatchString(err.Error()) {
				t.Fatalf("error without its file and line, or on more than one line: %q", err)
			}
			return
		}
		cfg.rules = fc.Rules
		if err := applyLayers(fs, fc, noEnv); err != nil {
			return
		}
		_, _ = cfg.engineConfig()
	})
}

// TestUnboundRules: a rule whose patterns match none of the symbols seen
// (a misspelt APPL) is reported at shutdown, so that it is not mistaken
// for a quiet market; rules that matched are not.
func TestUnboundRules(t *testing.T) {
	dir := t.TempDir()
	ticks := filepath.Join(dir, "ticks.csv")
	if err := os.WriteFile(ticks, []byte("1767364200000000000,AAPL,189.25,100\n1767364200000000001,MSFT,410,5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := serveDefaults("-feed-tail", ticks, "-feed-format", "csv", "-feed-listen", "", "-nats-listen", "off")
	if err != nil {
		t.Fatal(err)
	}
	for i, pats := range [][]string{{"AAPL"}, {"APPL"}, {"MS*"}, nil, {"X", "Y*"}} {
		cfg.rules = append(cfg.rules, ruleConfig{ID: fmt.Sprint("r", i), Type: "price", Level: "100", Symbols: pats})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, logs := startLoggedPipeline(t, ctx, &cfg)
	waitUntil(t, "both ticks applied", 10*time.Second, func() bool { return p.eng.Counters().Trades == 2 })
	cancel()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	var unbound []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "rule matched none of the symbols seen") {
			var m struct {
				Rule    string   `json:"rule"`
				Symbols []string `json:"symbols"`
				Seen    int      `json:"symbols_seen"`
			}
			if err := json.Unmarshal([]byte(line), &m); err != nil || m.Seen != 2 {
				t.Errorf("%q: %v", line, err)
			}
			unbound = append(unbound, m.Rule+fmt.Sprint(m.Symbols))
		}
	}
	if fmt.Sprint(unbound) != "[r1[APPL] r4[X Y*]]" {
		t.Errorf("reported unbound %v, want r1[APPL] and r4[X Y*]\n%s", unbound, logs)
	}
}

// TestRecordRotationLimits: a rotation size or age below the least the
// recorder takes is refused at start naming the flag (serve's record-
// prefixed, record's bare), 0 too (not taken as the default).
func TestRecordRotationLimits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // start, then stop at once
	for _, c := range []struct {
		name string
		f    func(context.Context, []string, io.Writer, io.Writer) error
		args []string
		want string
	}{
		{"serve", runServe, []string{"-record", t.TempDir(), "-record-max-bytes", "100", "-feed-listen", "127.0.0.1:0", "-nats-listen", "off"},
			"record-max-bytes 100: want at least 4096"},
		{"serve", runServe, []string{"-record", t.TempDir(), "-record-max-age", "0s", "-feed-listen", "127.0.0.1:0", "-nats-listen", "off"},
			"record-max-age 0s: want at least 1ms"},
		{"record", runRecord, []string{"-out", t.TempDir(), "-max-bytes", "0", "-feed-listen", "127.0.0.1:0"}, "max-bytes 0: want at least 4096"},
		{"record", runRecord, []string{"-out", t.TempDir(), "-max-age", "-1s", "-feed-listen", "127.0.0.1:0"}, "max-age -1s: want at least 1ms"},
	} {
		var errb bytes.Buffer
		if err := c.f(ctx, c.args, io.Discard, &errb); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.name, c.args, err, c.want)
		}
	}
}

// TestMaxSymbolsLimit: a -max-symbols past what the up-front table can
// hold is refused at start with the range (serve and record), instead of
// the runtime dying out of memory (4294967296) or a table of 2^24+ symbols
// that no feed can fill; the limit itself is accepted.
func TestMaxSymbolsLimit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // start, then stop at once
	tooMany := fmt.Sprint(maxSymbolsLimit + 1)
	for _, run := range []struct {
		name string
		f    func(context.Context, []string, io.Writer, io.Writer) error
		args []string
	}{
		{"serve", runServe, []string{"-feed-listen", "127.0.0.1:0", "-nats-listen", "off"}},
		{"record", runRecord, []string{"-feed-listen", "127.0.0.1:0", "-out", t.TempDir()}},
	} {
		var errb bytes.Buffer
		err := run.f(ctx, append([]string{"-max-symbols", tooMany}, run.args...), io.Discard, &errb)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("max-symbols %s not in 1..%d", tooMany, maxSymbolsLimit)) {
			t.Errorf("%s -max-symbols %s: %v, want the range refused", run.name, tooMany, err)
		}
	}
	var errb bytes.Buffer
	if err := runServe(ctx, []string{"-max-symbols", fmt.Sprint(maxSymbolsLimit), "-feed-listen", "127.0.0.1:0", "-nats-listen", "off"}, io.Discard, &errb); err != nil {
		t.Errorf("-max-symbols %d: %v\n%s", maxSymbolsLimit, err, errb.String())
	}
}

// TestFeedDialNeedsPort: a -feed-dial address without a port (or not an
// address at all) is refused at start, by serve and by record, instead of
// being redialled for ever after "tickd running".
func TestFeedDialNeedsPort(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // an address that passed would start and stop at once
	for _, a := range []string{"notanaddr", "127.0.0.1", "127.0.0.1:", "[::1"} {
		want := fmt.Sprintf("feed-dial %q: want HOST:PORT", a)
		err := runServe(ctx, []string{"-feed-dial", a, "-feed-listen", "", "-nats-listen", "off"}, io.Discard, io.Discard)
		if err == nil || err.Error() != want {
			t.Errorf("serve -feed-dial %s: %v, want %s", a, err, want)
		}
		err = runRecord(ctx, []string{"-feed-dial", a, "-out", t.TempDir()}, io.Discard, io.Discard)
		if err == nil || err.Error() != want {
			t.Errorf("record -feed-dial %s: %v, want %s", a, err, want)
		}
	}
	// A port no dial can use was redialled for ever too.
	for _, port := range []string{"99999", "-1", "0", "nosuchservice"} {
		a := "127.0.0.1:" + port
		want := fmt.Sprintf("feed-dial %q: port %q: want 1..65535 or a known service name", a, port)
		if err := runServe(ctx, []string{"-feed-dial", a, "-feed-listen", "", "-nats-listen", "off"}, io.Discard, io.Discard); err == nil || err.Error() != want {
			t.Errorf("serve -feed-dial %s: %v, want %s", a, err, want)
		}
	}
}
