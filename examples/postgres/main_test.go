package main

import (
	"bytes"
	"cmp"
	"net/url"
	"os"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/sqltel/sqltel/examples/internal/workload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPostgres runs the example against SQLTEL_TEST_POSTGRES_DSN. When the
// variable is set the server must be reachable: the test fails otherwise.
func TestPostgres(t *testing.T) {
	dsn := os.Getenv("SQLTEL_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("SQLTEL_TEST_POSTGRES_DSN not set")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("SQLTEL_TEST_POSTGRES_DSN: %v", err)
	}
	wantHost := u.Hostname() + ":" + cmp.Or(u.Port(), "5432")

	var out bytes.Buffer
	res, err := run(t.Context(), &out, t.TempDir(), dsn)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())
	events, err := workload.ReadEvents(res.Store)
	if err != nil || len(events) == 0 {
		t.Fatalf("reading the collector's store: %d events, %v", len(events), err)
	}
	for _, ev := range events {
		if ev["host"] != wantHost || ev["db_system"] != "postgresql" {
			t.Fatalf("event %s: host %q, db_system %q; want %q, postgresql", ev["id"], ev["host"], ev["db_system"], wantHost)
		}
	}
	if diff := gocmp.Diff(res.Counts, workload.Tally(events)); diff != "" {
		t.Errorf("stored events by (kind, op, error) differ from the workload's (-want +got):\n%s", diff)
	}
	if n := res.Stats.DroppedTotal(); n != 0 {
		t.Errorf("exporter dropped %d events: %+v", n, res.Stats.Dropped)
	}
}
