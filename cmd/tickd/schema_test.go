package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tickd/tickd/internal/jsexample"
)

// checkStatusSchema checks a status event, as published, against
// schema/tickd-messages.schema.json: Ajv accepts it and it names exactly
// the fields the schema declares for "status". The other kinds are checked
// live in package examples.
func checkStatusSchema(t *testing.T, data []byte) {
	t.Helper()
	checkKindSchema(t, "status", data)
}

// checkKindSchema checks a message published on <prefix>.status (kind
// status or feed) against the schema, as checkStatusSchema does.
func checkKindSchema(t *testing.T, kind string, data []byte) {
	t.Helper()
	if report, err := jsexample.Validate(t, data); err != nil {
		t.Fatalf("status event fails the schema: %v\n%s%s", err, report, data)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	if keys, props := slices.Sorted(maps.Keys(fields)), jsexample.Properties(t, kind); !slices.Equal(keys, props) {
		t.Fatalf("%s event has fields %q; the schema declares %q", kind, keys, props)
	}
}

// TestStatusSchemaRejectsWrongTypes: the status schema is not a pass-all.
func TestStatusSchemaRejectsWrongTypes(t *testing.T) {
	good, err := json.Marshal(statusEvent{Kind: "status", Publisher: "h-1", TsPub: 1_700_000_000_000_000_000,
		Dropped: 7, NewDropped: 7})
	if err != nil {
		t.Fatal(err)
	}
	checkStatusSchema(t, good)
	bad := [][]byte{
		[]byte(strings.Replace(string(good), `"dropped":7`, `"dropped":"7"`, 1)),
		[]byte(strings.Replace(string(good), `"new_dropped":7`, `"new_dropped":-7`, 1)),
		[]byte(strings.Replace(string(good), `"publisher":"h-1",`, ``, 1)),
	}
	report, err := jsexample.Validate(t, bad...)
	if err == nil || strings.Count(report, "invalid ") != len(bad) {
		t.Fatalf("want all %d broken status events rejected, validator said (err %v):\n%s", len(bad), err, report)
	}
}
