package sink

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tickd/tickd/bus"
)

// dialect is what SQLite and PostgreSQL spell differently; the statements
// themselves (CREATE TABLE IF NOT EXISTS, multi-row INSERT ... ON CONFLICT
// DO NOTHING) are shared.
type dialect struct {
	name        string
	decimalType string           // exact decimals: TEXT in SQLite (its NUMERIC would round through float64)
	jsonType    string           // JSON objects
	placeholder func(int) string // the nth (1-based) bind parameter
}

func (d *dialect) typeOf(t colType) string {
	switch t {
	case colInt:
		return "BIGINT"
	case colDecimal:
		return d.decimalType
	case colJSON:
		return d.jsonType
	}
	return "TEXT"
}

// createTable is t's DDL: every column NOT NULL, keyed by (publisher, seq,
// ts_pub) (see the package doc).
func (d *dialect) createTable(t *table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", t.name)
	for _, c := range t.cols {
		fmt.Fprintf(&b, "  %s %s NOT NULL,\n", c.name, d.typeOf(c.typ))
	}
	b.WriteString("  PRIMARY KEY (publisher, seq, ts_pub)\n)")
	return b.String()
}

// insert is an INSERT of rows rows into t that skips rows already there.
func (d *dialect) insert(t *table, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.name + " (")
	for i, c := range t.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
	}
	b.WriteString(") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range t.cols {
			if i > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteString(d.placeholder(n))
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (publisher, seq, ts_pub) DO NOTHING")
	return b.String()
}

// maxParams keeps one INSERT under both engines' bind-parameter limits
// (SQLite 32766, PostgreSQL 65535).
const maxParams = 30000

// sqlStore is a Store on database/sql, for either dialect.
type sqlStore struct {
	db   *sql.DB
	d    *dialect
	args []any
	rows [2][]bus.Message // by table index, reused
}

// newSQLStore creates the tables when missing.
func newSQLStore(ctx context.Context, db *sql.DB, d *dialect) (*sqlStore, error) {
	for _, t := range tables {
		if _, err := db.ExecContext(ctx, d.createTable(t)); err != nil {
			return nil, fmt.Errorf("sink: %s: create table %s: %w", d.name, t.name, err)
		}
	}
	return &sqlStore{db: db, d: d}, nil
}

// Write inserts msgs in one transaction.
func (s *sqlStore) Write(ctx context.Context, msgs []bus.Message) (int, error) {
	for i := range s.rows {
		clear(s.rows[i])
		s.rows[i] = s.rows[i][:0]
	}
	for _, m := range msgs {
		if t := tableOf(m); t != nil {
			s.rows[t.index] = append(s.rows[t.index], m)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sink: %s: begin: %w", s.d.name, err)
	}
	defer tx.Rollback() // after Commit a no-op
	written := 0
	for _, t := range tables {
		per := maxParams / len(t.cols)
		for rows := s.rows[t.index]; len(rows) > 0; {
			k := min(len(rows), per)
			s.args = s.args[:0]
			for _, m := range rows[:k] {
				s.args = t.row(m, s.args)
			}
			res, err := tx.ExecContext(ctx, s.d.insert(t, k), s.args...)
			clear(s.args)
			if err != nil {
				return 0, fmt.Errorf("sink: %s: insert into %s: %w", s.d.name, t.name, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return 0, fmt.Errorf("sink: %s: insert into %s: %w", s.d.name, t.name, err)
			}
			written += int(n)
			rows = rows[k:]
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sink: %s: commit: %w", s.d.name, err)
	}
	return written, nil
}

func (s *sqlStore) Close() error { return s.db.Close() }
