// Package workload is what the sqltel examples run against a database, and
// the in-process collector they send its telemetry to.
//
// Run executes a small mixed workload through sqlx (DDL, a transaction, a
// prepared statement, selects, a failing insert, a query that runs out of
// time) and returns the events sqltel should have recorded for it, so that a
// test can compare them with what the collector stored.
//
// The rest is the examples' plumbing. Example is a whole single-database
// example (quickstart, postgres, mysql) but for its driver and database:
// its Run wraps the driver with sqltel, runs the workload and prints the
// summary, and Main is its func main. StartCollector runs a collector on
// 127.0.0.1 with a SQLite store, PrintSummary and PrintStats print what it
// received and what the exporter counted, and ReadEvents and Tally read the
// store back for the tests (package workloadtest has the rest of those).
package workload

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Dialect selects the few statements that differ between databases.
type Dialect string

// The dialects Run knows.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// Key identifies a group of events by what sqltel records about them: the
// statement kind ("SELECT", "DDL", "" for commit...), the operation ("exec",
// "stmt_exec"...) and the error category ("" when it succeeded).
type Key struct{ Kind, Op, Err string }

// Counts says how many events of each Key a run should produce. Connect,
// ping and close events are not counted: how many there are depends on the
// connection pool, not on the workload.
type Counts map[Key]int

// Item is a row of the demo table. Its values are the kind of data sqltel
// must never send: the tests look for them in the collector's store.
type Item struct {
	ID    int64  `db:"id"`
	Name  string `db:"name"`
	Price int64  `db:"price"`
}

// Items are inserted by Run: two in one multi-row INSERT, the rest through a
// prepared statement.
var Items = []Item{
	{1, "secret-widget-42", 987654321},
	{2, "secret-gadget-7", 123456789},
	{3, "secret-gizmo-13", 55501},
	{4, "secret-doohickey-99", 55502},
	{5, "secret-sprocket-5", 55503},
	{6, "secret-flange-8", 55504},
}

// SlowQueryTimeout is how long the query that never ends may run before its
// context's deadline cancels it.
const SlowQueryTimeout = 100 * time.Millisecond

// slowQuery never finishes on its own; the context's deadline ends it inside
// the driver.
var slowQuery = map[Dialect]string{
	SQLite:   "WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT count(*) FROM forever",
	Postgres: "SELECT 1 FROM pg_sleep(5)",
	MySQL:    "SELECT SLEEP(5)",
}

// Run executes the workload on db, whose bind style (db.DriverName) must
// match the database, and returns the events it should have produced. The
// table is sqltel_demo_items on SQLite; elsewhere it gets a random suffix so
// that concurrent runs on one server do not collide. It is dropped at the
// end, also when Run fails.
func Run(ctx context.Context, db *sqlx.DB, d Dialect) (Counts, error) {
	slow, ok := slowQuery[d]
	if !ok {
		return nil, fmt.Errorf("workload: unknown dialect %q", d)
	}
	table := "sqltel_demo_items"
	if d != SQLite {
		table += "_" + strings.ToLower(rand.Text()[:8])
	}
	r := &runner{db: db, table: table, counts: Counts{}}
	r.exec(ctx, "DDL", "DROP TABLE IF EXISTS "+table)
	r.exec(ctx, "DDL", "CREATE TABLE "+table+" (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, price BIGINT NOT NULL)")
	r.insert(ctx)
	r.read(ctx)
	r.exec(ctx, "UPDATE", "UPDATE "+table+" SET price = price + ? WHERE price < ?", 1, 100000)
	r.duplicate(ctx)
	// An interrupted query leaves its connection unusable with these drivers:
	// database/sql discards it and opens another for the next statement.
	r.timeout(ctx, slow)
	r.exec(ctx, "DELETE", "DELETE FROM "+table+" WHERE id = ?", Items[len(Items)-1].ID)
	r.exec(ctx, "DDL", "DROP TABLE "+table)
	if r.err != nil {
		// Best effort, and not counted: the run has failed anyway.
		_, _ = db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+table)
		return nil, r.err
	}
	return r.counts, nil
}

// runner carries a run's state. After the first error every step does
// nothing, so that Run reads as a list of steps.
type runner struct {
	db     *sqlx.DB
	table  string
	counts Counts
	err    error
}

func (r *runner) duplicate(ctx context.Context) {
	if r.err != nil {
		return
	}
	// A duplicate primary key: sqltel reports it as "constraint", without
	// the message, which quotes the key.
	dup := Items[0]
	_, err := r.db.ExecContext(ctx, r.db.Rebind("INSERT INTO "+r.table+" (id, name, price) VALUES (?, ?, ?)"), dup.ID, dup.Name, dup.Price)
	if err == nil {
		r.err = errors.New("workload: duplicate insert succeeded")
		return
	}
	r.counts[Key{"INSERT", "exec", "constraint"}]++
}

func (r *runner) timeout(ctx context.Context, query string) {
	if r.err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, SlowQueryTimeout)
	defer cancel()
	var n int64
	err := r.db.GetContext(ctx, &n, query)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		r.counts[Key{"SELECT", "query", "deadline"}]++
	case errors.Is(err, context.Canceled):
		r.counts[Key{"SELECT", "query", "canceled"}]++
	default:
		r.err = fmt.Errorf("workload: slow query: got %v, want a context error", err)
	}
}

// exec runs one statement outside any transaction.
func (r *runner) exec(ctx context.Context, kind, query string, args ...any) {
	if r.err != nil {
		return
	}
	if _, err := r.db.ExecContext(ctx, r.db.Rebind(query), args...); err != nil {
		r.err = fmt.Errorf("workload: %s: %w", kind, err)
		return
	}
	r.counts[Key{kind, "exec", ""}]++
}

// insert writes Items in one transaction: the first two with a multi-row
// INSERT, the others with a prepared statement.
func (r *runner) insert(ctx context.Context) {
	if r.err != nil {
		return
	}
	r.err = r.inTx(ctx, func(tx *sqlx.Tx) error {
		a, b := Items[0], Items[1]
		q := tx.Rebind("INSERT INTO " + r.table + " (id, name, price) VALUES (?, ?, ?), (?, ?, ?)")
		if _, err := tx.ExecContext(ctx, q, a.ID, a.Name, a.Price, b.ID, b.Name, b.Price); err != nil {
			return err
		}
		r.counts[Key{"INSERT", "exec", ""}]++

		stmt, err := tx.PreparexContext(ctx, tx.Rebind("INSERT INTO "+r.table+" (id, name, price) VALUES (?, ?, ?)"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		r.counts[Key{"INSERT", "prepare", ""}]++
		for _, it := range Items[2:] {
			if _, err := stmt.ExecContext(ctx, it.ID, it.Name, it.Price); err != nil {
				return err
			}
			r.counts[Key{"INSERT", "stmt_exec", ""}]++
		}
		return nil
	})
}

// inTx runs f in a transaction and counts its begin and commit or rollback.
func (r *runner) inTx(ctx context.Context, f func(*sqlx.Tx) error) error {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("workload: begin: %w", err)
	}
	r.counts[Key{"BEGIN", "begin", ""}]++
	if err := f(tx); err != nil {
		if tx.Rollback() == nil {
			r.counts[Key{"", "rollback", ""}]++
		}
		return fmt.Errorf("workload: transaction: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("workload: commit: %w", err)
	}
	r.counts[Key{"", "commit", ""}]++
	return nil
}

// read scans the table into structs with Select and Get.
func (r *runner) read(ctx context.Context) {
	if r.err != nil {
		return
	}
	var all []Item
	if err := r.db.SelectContext(ctx, &all, "SELECT id, name, price FROM "+r.table+" ORDER BY id"); err != nil {
		r.err = fmt.Errorf("workload: select: %w", err)
		return
	}
	r.counts[Key{"SELECT", "query", ""}]++
	if len(all) != len(Items) {
		r.err = fmt.Errorf("workload: select: got %d items, want %d", len(all), len(Items))
		return
	}
	for _, want := range Items[:3] {
		var got Item
		q := r.db.Rebind("SELECT id, name, price FROM " + r.table + " WHERE id = ?")
		if err := r.db.GetContext(ctx, &got, q, want.ID); err != nil {
			r.err = fmt.Errorf("workload: get: %w", err)
			return
		}
		r.counts[Key{"SELECT", "query", ""}]++
		if got != want {
			r.err = fmt.Errorf("workload: get: got %+v, want %+v", got, want)
			return
		}
	}
}
