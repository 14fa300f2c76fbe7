package bus

import (
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

func TestSanitizeToken(t *testing.T) {
	for in, want := range map[string]string{
		"AAPL":      "AAPL",
		"BRK.A":     "BRK_A",
		"BRK A":     "BRK_A",
		"A*B>C":     "A_B_C",
		"X.Y.Z":     "X_Y_Z",
		"":          "_",
		"é":         "__", // two non-ASCII bytes
		"a\tb\x7f":  "a_b_",
		"$-+#%_~:!": "$-+#%_~:!", // printable ASCII other than . * > is kept
	} {
		if got := SanitizeToken(in); got != want {
			t.Errorf("SanitizeToken(%q) = %q, want %q", in, got, want)
		}
	}
	s := "MSFT"
	if n := testing.AllocsPerRun(100, func() { s = SanitizeToken(s) }); n != 0 {
		t.Errorf("valid token: %v allocs", n)
	}
}

func TestFormatInterval(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1s", time.Minute: "1m", 5 * time.Minute: "5m", time.Hour: "1h",
		250 * time.Millisecond: "250ms", 90 * time.Second: "90s", 24 * time.Hour: "24h",
		1500 * time.Microsecond: "1500us", 7: "7ns",
	} {
		got := FormatInterval(d)
		if got != want {
			t.Errorf("FormatInterval(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
}

func TestSubjects(t *testing.T) {
	var s Subjects
	for _, c := range [][2]string{
		{s.Signal("BRK.A", "brk_up"), "tickd.signal.BRK_A.brk_up"},
		{s.Signal("AAPL", "r.1"), "tickd.signal.AAPL.r_1"},
		{s.Bar(time.Minute, "AAPL"), "tickd.bar.1m.AAPL"},
		{s.Bar(250*time.Millisecond, "BRK A"), "tickd.bar.250ms.BRK_A"},
		{s.Stats("BRK.B"), "tickd.stats.BRK_B"},
		{s.BBO("BRK.B"), "tickd.bbo.BRK_B"},
		{s.BBO("A*B >\x01é"), "tickd.bbo.A_B_____"},
		{s.AllBBOs(), "tickd.bbo.>"},
		{Subjects{Prefix: "prod.md"}.BBO("BRK.A"), "prod.md.bbo.BRK_A"},
		{s.All(), "tickd.>"},
		{s.AllSignals(), "tickd.signal.>"},
		{s.AllBars(), "tickd.bar.>"},
		{s.AllStats(), "tickd.stats.>"},
		{Subjects{Prefix: "prod.md"}.Stats("X"), "prod.md.stats.X"},
		{s.Status(), "tickd.status"},
		{Subjects{Prefix: "prod.md"}.Control(), "prod.md.control"},
	} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
}

// TestIsControl: requests under <prefix>.control. are control subjects;
// a symbol or rule named "control", another prefix, or the bare root are not.
func TestIsControl(t *testing.T) {
	md := Subjects{Prefix: "prod.md"}
	for subject, want := range map[string]bool{
		"tickd.control.replay":        true,
		"tickd.control":               false,
		"tickd.controls.replay":       false,
		"tickd.signal.control.replay": false,
		"tickd.stats.control":         false,
		"other.control.replay":        false,
		"tickdx.control.replay":       false,
		"prod.md.control.replay":      false, // not under the default prefix
	} {
		if got := (Subjects{}).IsControl(subject); got != want {
			t.Errorf("IsControl(%q) = %v, want %v", subject, got, want)
		}
	}
	if !md.IsControl("prod.md.control.replay") || md.IsControl("tickd.control.replay") {
		t.Error("IsControl ignores the prefix")
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, ok := range []string{"tickd", "prod.tickd", "a-b_c"} {
		if err := ValidatePrefix(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "a..b", "a.", "a b", "a.*", "a.>", "tick\x00"} {
		if err := ValidatePrefix(bad); err == nil || !strings.HasPrefix(err.Error(), "bus: ") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestSubjectCache(t *testing.T) {
	syms := tick.NewSymbolTable(16)
	aapl, _ := syms.Intern("AAPL")
	brk, _ := syms.Intern("BRK.A")
	var c subjectCache
	c.init("tickd", syms, []RuleInfo{{ID: "up"}, {ID: "a.b"}})
	var s Subjects
	for _, tc := range [][2]string{
		{c.signal(brk, 1), s.Signal("BRK.A", "a.b")},
		{c.signal(aapl, 0), s.Signal("AAPL", "up")},
		{c.stats(brk), s.Stats("BRK.A")},
		{c.bbo(brk), s.BBO("BRK.A")},
		{c.bbo(brk), "tickd.bbo.BRK_A"},
		{c.bbo(aapl), "tickd.bbo.AAPL"},
		{c.bar(int64(time.Second), brk), s.Bar(time.Second, "BRK.A")},
		{c.bar(int64(time.Minute), aapl), s.Bar(time.Minute, "AAPL")},
		{c.bar(int64(time.Second), aapl), s.Bar(time.Second, "AAPL")},
	} {
		if tc[0] != tc[1] {
			t.Errorf("cache %q, Subjects %q", tc[0], tc[1])
		}
	}
	if got := c.stats(99); got != "" {
		t.Errorf("unknown symbol: %q", got)
	}
	if got := c.bbo(99); got != "" {
		t.Errorf("unknown symbol bbo: %q", got)
	}
	// A symbol interned after the cache first grew is still found.
	late, _ := syms.Intern("LATE")
	if got := c.signal(late, 0); got != "tickd.signal.LATE.up" {
		t.Errorf("late symbol: %q", got)
	}
	// Warm: no allocation.
	n := testing.AllocsPerRun(100, func() {
		_ = c.signal(brk, 1)
		_ = c.stats(aapl)
		_ = c.bbo(brk)
		_ = c.bar(int64(time.Minute), aapl)
	})
	if n != 0 {
		t.Errorf("warm cache lookups: %v allocs", n)
	}
}
