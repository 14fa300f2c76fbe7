package sink

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestSQLitePathVerbatim: a path holding the characters an SQLite URI
// reads specially names that file, in WAL mode.
func TestSQLitePathVerbatim(t *testing.T) {
	for _, name := range []string{"a?b.db", "c#d.db", "e%41.db", "f g.db", "//h.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			if name[0] == '/' {
				path = "/" + path // "//tmp/...": the same file to the kernel
			}
			st, err := OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			write(t, st, msgs("p", 1, 2))
			var mode string
			if err := st.(*sqlStore).db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" {
				t.Errorf("journal mode %q, want wal", mode)
			}
			if _, err := os.Stat(path); err != nil {
				entries, _ := os.ReadDir(dir)
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("%v; the directory holds %q", err, names)
			}
		})
	}
}
