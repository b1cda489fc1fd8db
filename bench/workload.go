package bench

import (
	"context"
	"fmt"
)

// Step returns one iteration of the named workload (one of Workloads) on
// db, and a function that frees what the workload holds:
//
//   - exec: ExecContext of an UPDATE with one argument;
//   - queryrow: QueryRowContext("SELECT ?", i) and Scan;
//   - prepared: ExecContext of that UPDATE, prepared once beforehand;
//   - tx: BeginTx, an INSERT with one argument, Commit.
func Step(ctx context.Context, db *DB, b Backend, workload string) (step func(i int64) error, done func() error, err error) {
	nothing := func() error { return nil }
	switch workload {
	case "exec":
		return func(int64) error {
			_, err := db.ExecContext(ctx, b.Update, 1)
			return err
		}, nothing, nil
	case "queryrow":
		return func(i int64) error {
			var n int64
			if err := db.QueryRowContext(ctx, b.Select, i).Scan(&n); err != nil {
				return err
			}
			if n != i {
				return fmt.Errorf("bench: SELECT %d returned %d", i, n)
			}
			return nil
		}, nothing, nil
	case "prepared":
		st, err := db.PrepareContext(ctx, b.Update)
		if err != nil {
			return nil, nil, fmt.Errorf("bench: prepare: %w", err)
		}
		return func(int64) error {
			_, err := st.ExecContext(ctx, 1)
			return err
		}, st.Close, nil
	case "tx":
		return func(i int64) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, b.Insert, i); err != nil {
				tx.Rollback()
				return err
			}
			return tx.Commit()
		}, nothing, nil
	}
	return nil, nil, fmt.Errorf("bench: unknown workload %q", workload)
}

// statementsPerStep is how many database/sql operations one step makes,
// each of which a recording connection reports as one event.
var statementsPerStep = map[string]int{"exec": 1, "queryrow": 1, "prepared": 1, "tx": 3}

// StatementsPerStep returns how many events one step of workload records
// when telemetry is on.
func StatementsPerStep(workload string) int { return statementsPerStep[workload] }
