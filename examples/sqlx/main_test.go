package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/sqltel/sqltel/examples/internal/workload"
	"github.com/sqltel/sqltel/examples/internal/workload/workloadtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSqlx(t *testing.T) {
	res, out := workloadtest.Run(t, run)

	// Each DB rebinds in the style its name chose.
	for _, want := range []string{
		`"sqltel-sqlite" rebinds to: SELECT name FROM items WHERE id = ? AND price < ?`,
		`"postgres"      rebinds to: SELECT name FROM items WHERE id = $1 AND price < $2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// Both DBs' events reached the collector, and nothing else did.
	events, err := workload.ReadEvents(res.Store)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Counts, workload.Tally(events)); diff != "" {
		t.Errorf("stored events by (kind, op, error) differ from the two workloads' (-want +got):\n%s", diff)
	}
	conns := map[string]bool{}
	for _, ev := range events {
		conns[ev["conn_id"]] = true
	}
	if len(conns) < 2 {
		t.Errorf("events from %d connection(s), want at least one per DB", len(conns))
	}
}
