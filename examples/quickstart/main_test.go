package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/sqltel/sqltel/examples/internal/workload"
	"github.com/sqltel/sqltel/examples/internal/workload/workloadtest"
	"github.com/sqltel/sqltel/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstart(t *testing.T) {
	start := time.Now()
	res, out := workloadtest.Run(t, example.RunIn)
	t.Logf("quickstart took %v", time.Since(start).Round(time.Millisecond))

	events, err := workload.ReadEvents(res.Store)
	if err != nil || len(events) == 0 {
		t.Fatalf("reading the collector's store: %d events, %v", len(events), err)
	}
	t.Run("events match the workload", func(t *testing.T) {
		got := workload.Tally(events)
		for _, ev := range events {
			if ev["host"] != "localhost" || ev["db_system"] != "sqlite" {
				t.Errorf("event %s: host %q, db_system %q; want localhost, sqlite", ev["id"], ev["host"], ev["db_system"])
			}
		}
		if diff := cmp.Diff(res.Counts, got); diff != "" {
			t.Errorf("stored events by (kind, op, error) differ from the workload's (-want +got):\n%s", diff)
		}
		// The two failures the workload provokes, spelled out.
		for _, k := range []workload.Key{
			{Kind: "INSERT", Op: "exec", Err: "constraint"},
			{Kind: "SELECT", Op: "query", Err: "deadline"},
		} {
			if got[k] != 1 {
				t.Errorf("%+v: %d stored events, want 1", k, got[k])
			}
		}
	})

	t.Run("exporter delivered everything", func(t *testing.T) {
		s := res.Stats
		want := telemetry.Stats{Recorded: uint64(len(events)), Delivered: uint64(len(events))}
		got := telemetry.Stats{Recorded: s.Recorded, Delivered: s.Delivered, Pending: s.Pending, Dropped: s.Dropped}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("exporter stats (-want +got), with %d events stored:\n%s", len(events), diff)
		}
	})

	t.Run("summary", func(t *testing.T) {
		var total int64
		for _, row := range res.Report.Rows {
			total += row.Count
		}
		if total != int64(len(events)) {
			t.Errorf("report rows count %d events, the store holds %d", total, len(events))
		}
		for _, s := range []string{"HOST", "FINGERPRINT", "constraint=1", "deadline=1", "exporter: recorded"} {
			if !strings.Contains(out, s) {
				t.Errorf("output lacks %q", s)
			}
		}
	})

	t.Run("no SQL text or values stored", func(t *testing.T) {
		forbidden := []string{"INSERT INTO", "SELECT id", "FROM ", "WHERE", "sqltel_demo_items", "forever", "secret"}
		for _, it := range workload.Items {
			forbidden = append(forbidden, it.Name)
		}
		forbidden = append(forbidden, strconv.FormatInt(workload.Items[0].Price, 10), strconv.FormatInt(workload.Items[1].Price, 10))
		for _, ev := range events {
			for col, v := range ev {
				for _, f := range forbidden {
					if strings.Contains(strings.ToLower(v), strings.ToLower(f)) {
						t.Errorf("event %s, column %s = %q: contains %q", ev["id"], col, v, f)
					}
				}
			}
		}
	})
}
