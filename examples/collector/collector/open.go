package collector

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Open opens the collector's database and returns it with its dialect.
//
// A DSN starting with "postgres://" or "postgresql://" opens PostgreSQL
// through pgx; anything else ("file:sqltel.db", "sqltel.db", ":memory:") is
// a SQLite database. For SQLite, Open adds a busy timeout, WAL journaling and
// IMMEDIATE transactions unless the DSN already sets them, so concurrent
// batches wait for each other instead of failing with SQLITE_BUSY; an
// in-memory database is limited to one connection, since every connection
// would otherwise see its own empty database.
//
// Open does not connect: New does, when it creates the schema.
func Open(dsn string) (*sql.DB, string, error) {
	if dsn == "" {
		return nil, "", fmt.Errorf("collector: empty database DSN")
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, "", fmt.Errorf("collector: open postgres: %w", err)
		}
		return db, DialectPostgres, nil
	}

	memory := isMemorySQLite(dsn)
	path, rawQuery, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, "", fmt.Errorf("collector: sqlite DSN query: %w", err)
	}
	pragmas := strings.ToLower(strings.Join(q["_pragma"], ";"))
	if !strings.Contains(pragmas, "busy_timeout") && q.Get("_busy_timeout") == "" && q.Get("_timeout") == "" {
		q.Add("_pragma", "busy_timeout(10000)")
	}
	if !memory && !strings.Contains(pragmas, "journal_mode") && q.Get("_journal_mode") == "" && q.Get("_journal") == "" {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, "", fmt.Errorf("collector: open sqlite: %w", err)
	}
	if memory {
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	return db, DialectSQLite, nil
}

// isMemorySQLite reports whether dsn names an in-memory SQLite database.
func isMemorySQLite(dsn string) bool {
	path, query, _ := strings.Cut(dsn, "?")
	if path == ":memory:" || path == "file::memory:" || strings.HasPrefix(path, "file::memory:") {
		return true
	}
	q, _ := url.ParseQuery(query)
	return q.Get("mode") == "memory"
}
