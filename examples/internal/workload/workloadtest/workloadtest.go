// Package workloadtest holds what the examples' tests share: Run, and the
// whole test of the examples that run the workload on a database server
// (postgres, mysql).
package workloadtest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/sqltel/sqltel/examples/internal/workload"
)

// Run calls an example's run function with a temporary directory and
// returns its result and what it printed, which it logs. If run fails, so
// does the test.
func Run[R any](t *testing.T, run func(ctx context.Context, w io.Writer, dir string) (R, error)) (R, string) {
	t.Helper()
	var out bytes.Buffer
	res, err := run(t.Context(), &out, t.TempDir())
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())
	return res, out.String()
}

// Server runs ex against the DSN in the environment variable env, and skips
// the test when it is unset. When it is set the server must be reachable:
// the test fails otherwise.
//
// Every stored event must name the database system and the host key that
// sqltel should derive from the DSN (see expect), the events must match the
// workload's, and the exporter must have dropped none.
func Server(t *testing.T, ex workload.Example, env string) {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		t.Skip(env + " not set")
	}
	dbSystem, wantHost, err := expect(ex.Dialect, dsn)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}

	res, _ := Run(t, func(ctx context.Context, w io.Writer, dir string) (workload.Result, error) {
		return ex.Run(ctx, w, dir, dsn)
	})
	events, err := workload.ReadEvents(res.Store)
	if err != nil || len(events) == 0 {
		t.Fatalf("reading the collector's store: %d events, %v", len(events), err)
	}
	for _, ev := range events {
		if ev["host"] != wantHost || ev["db_system"] != dbSystem {
			t.Fatalf("event %s: host %q, db_system %q; want %q, %s", ev["id"], ev["host"], ev["db_system"], wantHost, dbSystem)
		}
	}
	if diff := gocmp.Diff(res.Counts, workload.Tally(events)); diff != "" {
		t.Errorf("stored events by (kind, op, error) differ from the workload's (-want +got):\n%s", diff)
	}
	if n := res.Stats.DroppedTotal(); n != 0 {
		t.Errorf("exporter dropped %d events: %+v", n, res.Stats.Dropped)
	}
}

// expect returns the db_system and the host key sqltel should record for a
// DSN of dialect d, worked out without sqltel's help.
func expect(d workload.Dialect, dsn string) (dbSystem, host string, err error) {
	switch d {
	case workload.MySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return "", "", err
		}
		return "mysql", cfg.Addr, nil // host:port, with the default port filled in
	case workload.Postgres:
		u, err := url.Parse(dsn)
		if err != nil {
			return "", "", err
		}
		return "postgresql", u.Hostname() + ":" + cmp.Or(u.Port(), "5432"), nil
	}
	return "", "", fmt.Errorf("workloadtest: %q is not a server dialect", d)
}
