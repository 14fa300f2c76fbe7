package sink

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tickd/tickd/bus"
)

var postgresDialect = dialect{
	name:        "postgres",
	decimalType: "NUMERIC",
	jsonType:    "JSONB",
	placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
}

// PostgresOptions says where a PostgreSQL sink connects.
type PostgresOptions struct {
	// URL is a postgres:// or postgresql:// URL without a password; the
	// usual PG* variables fill what it leaves out (PGPASSWORD, PGPASSFILE
	// and ~/.pgpass included).
	URL string
	// PasswordFile, if set, holds the password (first line), overriding
	// the environment.
	PasswordFile string
}

// OpenPostgres connects to PostgreSQL and creates the tables if missing.
// A password in the URL is refused: a command line is readable by every
// user of the host.
func OpenPostgres(ctx context.Context, opts PostgresOptions) (Store, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("sink: postgres: want a postgres:// URL")
	}
	if _, has := u.User.Password(); has {
		return nil, fmt.Errorf("sink: postgres: %s carries a password: give it in PGPASSWORD, a pgpass file or a password file", u.Redacted())
	}
	cfg, err := pgx.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("sink: postgres: %w", err)
	}
	if opts.PasswordFile != "" {
		pw, err := bus.ReadSecretFile(opts.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("sink: postgres: %w", err)
		}
		cfg.Password = pw
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(1) // batches are written one at a time
	st, err := newSQLStore(ctx, db, &postgresDialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%w (%s)", err, u.Redacted())
	}
	return st, nil
}
