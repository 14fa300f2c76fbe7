package sink

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

var sqliteDialect = dialect{
	name:        "sqlite",
	decimalType: "TEXT",
	jsonType:    "TEXT",
	placeholder: func(int) string { return "?" },
}

// OpenSQLite opens (creating it and its tables if missing) the SQLite
// database file at path, in WAL mode so readers can query it while the sink
// writes.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, fmt.Errorf("sink: sqlite: empty path")
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)") // with WAL: durable at each checkpoint, never corrupt
	q.Add("_pragma", "busy_timeout(5000)")  // wait out a reader's lock rather than fail
	db, err := sql.Open("sqlite", sqliteURI(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sink: sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	st, err := newSQLStore(ctx, db, &sqliteDialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return st, nil
}

// sqliteURI is path as an SQLite URI filename. The driver splits its own
// parameters off at the first '?', and SQLite decodes %HH and ends the
// name at '#', so those three are escaped; a path starting with "//" would
// name a URI authority.
func sqliteURI(path string) string {
	path = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	if strings.HasPrefix(path, "//") {
		path = "//" + path // an empty authority, then the path
	}
	return "file:" + path
}
