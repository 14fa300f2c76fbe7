package sink

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

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
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
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
