package sink

import (
	"os"
	"strings"
	"testing"
)

// TestREADMESchema: the README's "Sinks" section shows the tables exactly
// as the sink creates them in PostgreSQL.
func TestREADMESchema(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if ddl := postgresDialect.createTable(tb) + ";"; !strings.Contains(string(data), ddl) {
			t.Errorf("README.md does not show %s as created:\n%s", tb.name, ddl)
		}
	}
}
