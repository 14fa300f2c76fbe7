package examples

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/internal/jsexample"
)

// TestPublishedMessagesMatchSchema checks every kind a live publisher sends
// (signal, bar, stats, bbo; status is checked in cmd/tickd, where it is
// made) against schema/tickd-messages.schema.json: each passes Ajv, names
// exactly the fields the schema declares for its kind, arrives on the
// subject the README documents, and decodes with package bus.
func TestPublishedMessagesMatchSchema(t *testing.T) {
	l := startLive(t)
	l.playScript(t)
	got := l.wait(t, scriptKinds)
	if bad := got["not json"]; len(bad) > 0 {
		t.Fatalf("published a payload that is not a JSON object with a kind: %s", bad[0].Data)
	}
	subjects := map[string]string{"signal": "tickd.signal.BRK_A.brk_up", "bar": "tickd.bar.1s.BRK_A",
		"stats": "tickd.stats.BRK_A", "bbo": "tickd.bbo.BRK_A"}
	var msgs [][]byte
	for _, kind := range slices.Sorted(maps.Keys(scriptKinds)) {
		props := jsexample.Properties(t, kind)
		for _, p := range got[kind] {
			if p.Subject != subjects[kind] {
				t.Errorf("%s published on %q, want %q", kind, p.Subject, subjects[kind])
			}
			if keys := slices.Sorted(maps.Keys(p.Fields)); !slices.Equal(keys, props) {
				t.Errorf("%s has fields %q; the schema declares %q", kind, keys, props)
			}
			if _, err := bus.DecodeBytes(p.Subject, p.Data); err != nil {
				t.Error(err)
			}
			msgs = append(msgs, p.Data)
		}
	}
	report, err := jsexample.Validate(t, msgs...)
	if err != nil {
		t.Fatalf("published messages fail the schema: %v\n%s\nmessages:\n%s", err, report, msgs)
	}
	if n := strings.Count(report, "ok "); n != len(msgs) {
		t.Fatalf("validator accepted %d of %d messages:\n%s", n, len(msgs), report)
	}
}

// TestSchemaRejectsWrongTypes changes one field of a real published message
// at a time, mostly to the wrong JSON type, and expects the schema to reject
// each: a schema that accepted anything would pass the test above.
func TestSchemaRejectsWrongTypes(t *testing.T) {
	l := startLive(t)
	l.playScript(t)
	got := l.wait(t, scriptKinds)
	const missing = "" // delete the field
	changes := []struct{ kind, field, value string }{
		{"signal", "price", `412.123456789`}, // a number: digits lost to float64
		{"signal", "seq", `"1"`},
		{"signal", "ts_event", `"1700000000100000000"`},
		{"signal", "dir", `"sideways"`},
		{"signal", "params", `{"level":412}`},
		{"signal", "values", `{"price":"412.123456789"}`},
		{"signal", "rule", missing},
		{"bar", "open", `"411.90"`}, // tickd never writes trailing zeros
		{"bar", "vwap", `412.048971193`},
		{"bar", "volume", `"300"`},
		{"bar", "interval_ns", `0`},
		{"bar", "ts_pub", missing},
		{"stats", "sma", `"412"`},
		{"stats", "vwap", `"412.048971193"`}, // a number in stats, unlike in bars
		{"stats", "count", `-1`},
		{"stats", "last", `null`},
		{"bbo", "bid", `412.25`},
		{"bbo", "ask_size", `null`},
		{"bbo", "bid_orders", `1.5`},
		{"bbo", "kind", `"quote"`},
	}
	msgs := make([][]byte, len(changes))
	for i, c := range changes {
		fields := maps.Clone(got[c.kind][0].Fields)
		if c.value == missing {
			delete(fields, c.field)
		} else {
			fields[c.field] = json.RawMessage(c.value)
		}
		var err error
		if msgs[i], err = json.Marshal(fields); err != nil {
			t.Fatal(err)
		}
	}
	report, err := jsexample.Validate(t, msgs...)
	if err == nil {
		t.Fatalf("the schema accepted every broken message:\n%s", report)
	}
	lines := strings.Split(strings.TrimRight(report, "\n"), "\n")
	if len(lines) != len(changes) {
		t.Fatalf("validator answered %d lines for %d messages:\n%s", len(lines), len(changes), report)
	}
	for i, c := range changes {
		if !strings.HasPrefix(lines[i], "invalid ") || !strings.Contains(lines[i], c.field) {
			t.Errorf("%s with %s = %q: validator said %q, want it invalid, naming %s", c.kind, c.field, c.value, lines[i], c.field)
		}
	}
}

// TestReadmeExamples keeps the README's "Subscribing" section true: its
// example messages pass the schema with exactly the declared fields, and the
// output it shows is what the subscribers print for the test script.
func TestReadmeExamples(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(jsexample.Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Subscribing (subjects and schema)\n")
	if !ok {
		t.Fatal(`README.md has no "## Subscribing (subjects and schema)" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := fencedBlocks(section)

	msgs := blocks["json"]
	if len(msgs) == 0 {
		t.Fatal("the section shows no JSON messages")
	}
	kinds := map[string]bool{}
	var data [][]byte
	for _, m := range msgs {
		var fields map[string]json.RawMessage
		var kind string
		if err := json.Unmarshal([]byte(m), &fields); err != nil || json.Unmarshal(fields["kind"], &kind) != nil {
			t.Fatalf("README example is not a tickd message: %v\n%s", err, m)
		}
		kinds[kind] = true
		if keys, props := slices.Sorted(maps.Keys(fields)), jsexample.Properties(t, kind); !slices.Equal(keys, props) {
			t.Errorf("README %s example has fields %q; the schema declares %q", kind, keys, props)
		}
		data = append(data, []byte(m))
	}
	if want := []string{"bar", "bbo", "feed", "signal", "stats", "status"}; !slices.Equal(slices.Sorted(maps.Keys(kinds)), want) {
		t.Errorf("README examples cover kinds %v, want %v", slices.Sorted(maps.Keys(kinds)), want)
	}
	if report, err := jsexample.Validate(t, data...); err != nil {
		t.Errorf("README examples fail the schema: %v\n%s", err, report)
	}

	shown := blocks[""]
	if len(shown) == 0 {
		t.Fatal("the section shows no subscriber output")
	}
	for _, line := range shown {
		if !slices.Contains(scriptLines, line) {
			t.Errorf("README shows subscriber output %q, which the subscribers do not print for the script", line)
		}
	}
}

// TestReadmeRuleFields keeps the README's table of signal params and values
// by rule type true to what the engine publishes (engine.RuleSpec.Info):
// one row per rule type, naming its own params and its three values in
// order. The schema's descriptions of params and values list them too.
func TestReadmeRuleFields(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(jsexample.Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	schemaText, err := os.ReadFile(jsexample.SchemaPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs struct {
			Signal struct {
				Properties map[string]struct {
					Description string `json:"description"`
				} `json:"properties"`
			} `json:"signal"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schemaText, &schema); err != nil {
		t.Fatal(err)
	}
	described := schema.Defs.Signal.Properties
	_, section, _ := strings.Cut(string(raw), "\n## Subscribing (subjects and schema)\n")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string][2][]string{} // type → (params, values) named in its row
	for line := range strings.Lines(section) {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 3 || !strings.HasPrefix(line, "| `") {
			continue
		}
		rows[codeSpans(cells[0])[0]] = [2][]string{codeSpans(cells[1]), codeSpans(cells[2])}
	}
	common := []string{"dir", "hysteresis", "cooldown", "symbols"}
	for typ := engine.RulePrice; !strings.HasPrefix(typ.String(), "ruletype("); typ++ {
		name, params, values := engine.RuleSpec{Type: typ}.Info()
		var own []string
		for _, p := range params {
			if !slices.Contains(common, p[0]) {
				own = append(own, p[0])
			}
		}
		row, ok := rows[name]
		if !ok {
			t.Errorf("README has no row for rule type %q (params %q, values %q)", name, own, values)
			continue
		}
		if !slices.Equal(row[0], own) || !slices.Equal(row[1], values[:]) {
			t.Errorf("README row %q: params %q, values %q; the engine publishes %q and %q", name, row[0], row[1], own, values)
		}
		for field, names := range map[string][]string{"params": own, "values": values[:]} {
			// "... by type: price level; move percent, window; ..."
			items := strings.FieldsFunc(described[field].Description, func(r rune) bool { return strings.ContainsRune(":;.(", r) })
			for i := range items {
				items[i] = strings.TrimSpace(items[i])
			}
			if want := name + " " + strings.Join(names, ", "); !slices.Contains(items, want) {
				t.Errorf("the schema's description of a signal's %s does not list %q", field, want)
			}
		}
	}
}

// codeSpans returns the `code` spans of a markdown table cell, in order,
// skipping those inside parentheses (explanations, not names).
func codeSpans(cell string) []string {
	var spans []string
	depth := 0
	for i := 0; i < len(cell); i++ {
		switch cell[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '`':
			end := strings.IndexByte(cell[i+1:], '`')
			if end < 0 {
				return spans
			}
			if depth == 0 {
				spans = append(spans, cell[i+1:i+1+end])
			}
			i += end + 1
		}
	}
	return spans
}

// fencedBlocks returns the lines of the ``` blocks in markdown by info
// string ("json", "sh", "" for none), blocks of the same kind concatenated.
func fencedBlocks(markdown string) map[string][]string {
	blocks := map[string][]string{}
	lang, in := "", false
	for line := range strings.Lines(markdown) {
		line = strings.TrimRight(line, "\n")
		if rest, ok := strings.CutPrefix(line, "```"); ok {
			lang, in = rest, !in
			continue
		}
		if in && line != "" {
			blocks[lang] = append(blocks[lang], line)
		}
	}
	return blocks
}
