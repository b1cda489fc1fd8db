package collector

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dialects accepted in Config.Dialect and returned by Open.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// tableName is the one table the collector owns. Column names avoid the
// keywords "time", "rows" and "error" so that the same SQL runs on both
// dialects unquoted.
const tableName = "sqltel_events"

// schema is idempotent and portable: BIGINT and BOOLEAN mean the same thing
// to SQLite and PostgreSQL, and the event time is stored as Unix nanoseconds
// so that range filters compare integers on both.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS ` + tableName + ` (
	id           TEXT    NOT NULL PRIMARY KEY,
	time_ns      BIGINT  NOT NULL,
	host         TEXT    NOT NULL,
	db_system    TEXT    NOT NULL,
	conn_id      TEXT    NOT NULL,
	op           TEXT    NOT NULL,
	stmt_kind    TEXT    NOT NULL,
	fingerprint  TEXT    NOT NULL,
	latency_us   BIGINT  NOT NULL,
	row_count    BIGINT,
	err_category TEXT    NOT NULL,
	in_tx        BOOLEAN NOT NULL
)`,
	`CREATE INDEX IF NOT EXISTS ` + tableName + `_host_time ON ` + tableName + ` (host, time_ns)`,
	`CREATE INDEX IF NOT EXISTS ` + tableName + `_time ON ` + tableName + ` (time_ns)`,
}

const insertColumns = 12

// insertChunk is the number of events per INSERT statement: 500 × 12 = 6000
// parameters, well under SQLite's 32766 and PostgreSQL's 65535.
const insertChunk = 500

// createSchema creates the table and its indexes if they do not exist.
func createSchema(ctx context.Context, db *sql.DB) error {
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("collector: create schema: %w", err)
		}
	}
	return nil
}

// store writes events in one transaction and returns how many were new.
// Events whose id is already stored are skipped (ON CONFLICT DO NOTHING), so
// a batch resent after a lost response is not counted twice. On error nothing
// is stored.
func (s *Server) store(ctx context.Context, events []event) (inserted int64, err error) {
	if len(events) == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("collector: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for start := 0; start < len(events); start += insertChunk {
		chunk := events[start:min(start+insertChunk, len(events))]
		query, args := s.insertStatement(chunk)
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, fmt.Errorf("collector: insert %d events: %w", len(chunk), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("collector: insert: rows affected: %w", err)
		}
		inserted += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("collector: commit: %w", err)
	}
	return inserted, nil
}

// insertStatement builds one multi-row INSERT for events.
func (s *Server) insertStatement(events []event) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(events)*insertColumns)
	b.WriteString("INSERT INTO " + tableName +
		" (id, time_ns, host, db_system, conn_id, op, stmt_kind, fingerprint, latency_us, row_count, err_category, in_tx) VALUES ")
	for i, ev := range events {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range insertColumns {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s.placeholder(i*insertColumns + j + 1))
		}
		b.WriteByte(')')
		rows := sql.NullInt64{Int64: ev.Rows, Valid: ev.RowsKnown}
		args = append(args, ev.ID, ev.TimeNS, ev.Host, ev.DBSystem, ev.ConnID, ev.Op,
			ev.StmtKind, ev.Fingerprint, ev.LatencyUS, rows, ev.Error, ev.InTx)
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING")
	return b.String(), args
}

// placeholder returns the n-th (1-based) bind parameter in the dialect.
func (s *Server) placeholder(n int) string {
	if s.dialect == DialectPostgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// storedEvent is the part of a stored event the summary needs.
type storedEvent struct {
	host, fingerprint, kind, op, errCategory string
	latencyUS                                int64
	rows                                     sql.NullInt64
}

// Bounds of the times that UnixNano represents; it wraps outside them.
var (
	minTimeNS = time.Unix(0, math.MinInt64)
	maxTimeNS = time.Unix(0, math.MaxInt64)
)

// scanEvents calls fn for every stored event of host ("" = all hosts) whose
// time is at or after since (zero = no lower bound).
func (s *Server) scanEvents(ctx context.Context, host string, since time.Time, fn func(storedEvent)) error {
	if host != "" && !validHost(host) {
		return nil // no stored host matches, and PostgreSQL would refuse it
	}
	if since.After(maxTimeNS) {
		return nil // later than any storable event time
	}
	query := "SELECT host, fingerprint, stmt_kind, op, err_category, latency_us, row_count FROM " + tableName
	var where []string
	var args []any
	if host != "" {
		args = append(args, host)
		where = append(where, "host = "+s.placeholder(len(args)))
	}
	if !since.IsZero() && !since.Before(minTimeNS) { // earlier: every event time is after it
		args = append(args, since.UnixNano())
		where = append(where, "time_ns >= "+s.placeholder(len(args)))
	}
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("collector: query events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e storedEvent
		if err := rows.Scan(&e.host, &e.fingerprint, &e.kind, &e.op, &e.errCategory, &e.latencyUS, &e.rows); err != nil {
			return fmt.Errorf("collector: scan event: %w", err)
		}
		fn(e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("collector: query events: %w", err)
	}
	return nil
}

// hosts returns every host that has stored events, sorted.
func (s *Server) hosts(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT host FROM "+tableName)
	if err != nil {
		return nil, fmt.Errorf("collector: query hosts: %w", err)
	}
	defer rows.Close()
	var hosts []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("collector: scan host: %w", err)
		}
		hosts = append(hosts, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("collector: query hosts: %w", err)
	}
	slices.Sort(hosts) // in Go: SQLite and PostgreSQL collate differently
	return hosts, nil
}
