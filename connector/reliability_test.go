package connector_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/connector"
	"github.com/sqltel/sqltel/flags"
	"github.com/sqltel/sqltel/internal/faultcollector"
	"github.com/sqltel/sqltel/telemetry"
)

// reliabilityWorkload runs a fixed sequence of statements and returns, for
// each, what database/sql gave back: values, row counts and error texts.
// Run on a raw and on a wrapped DB, the transcripts must be identical.
func reliabilityWorkload(db *sql.DB) []string {
	ctx := context.Background()
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	exec := func(q string, args ...any) {
		res, err := db.ExecContext(ctx, q, args...)
		if err != nil {
			say("exec %q: error %v", q, err)
			return
		}
		n, nerr := res.RowsAffected()
		id, ierr := res.LastInsertId()
		say("exec %q: rows %d %v, id %d %v", q, n, nerr, id, ierr)
	}
	readRows := func(label string, rows *sql.Rows, err error) {
		if err != nil {
			say("%s: error %v", label, err)
			return
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				lines = append(lines, "scan error "+err.Error())
				continue
			}
			lines = append(lines, fmt.Sprintf("%v", vals))
		}
		say("%s: cols %v rows %v err %v", label, cols, lines, rows.Err())
	}
	query := func(q string, args ...any) {
		rows, err := db.QueryContext(ctx, q, args...)
		readRows(fmt.Sprintf("query %q %v", q, args), rows, err)
	}

	say("ping %v", db.PingContext(ctx))
	exec("create table acct (id integer primary key, name text unique not null, bal real check (bal >= 0))")
	for i := range 30 {
		exec("insert into acct (name, bal) values (?, ?)", fmt.Sprintf("n%02d", i), float64(i)*1.5)
	}
	exec("insert into acct (name, bal) values (?, ?)", "n03", 1.0) // unique violation
	exec("insert into acct (name, bal) values (?, ?)", "neg", -1)  // check violation
	exec("insert into acct (name) values (null)")                  // not null violation
	query("select id, name, bal from acct where bal > ? order by id", 20)
	query("selec 1")
	query("select * from missing_table")
	query("select :n * 2", sql.Named("n", 21))
	exec("update acct set bal = bal + 1 where id % 2 = 0")
	exec("delete from acct where id > ?", 25)

	tx, err := db.BeginTx(ctx, nil)
	say("begin %v", err)
	if err == nil {
		_, err = tx.ExecContext(ctx, "update acct set bal = 0")
		say("tx update %v", err)
		say("rollback %v", tx.Rollback())
		say("rollback again %v", tx.Rollback())
	}
	tx, err = db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	say("begin read-only %v", err)
	if err == nil {
		say("commit %v", tx.Commit())
	}
	tx, err = db.BeginTx(ctx, nil)
	if err == nil {
		_, err = tx.ExecContext(ctx, "insert into acct (name, bal) values ('tx', 7)")
		say("tx insert %v", err)
		rows, err := tx.QueryContext(ctx, "select count(*) from acct")
		readRows("tx count", rows, err)
		say("commit %v", tx.Commit())
	}

	st, err := db.PrepareContext(ctx, "select name, bal from acct where id = ?")
	say("prepare %v", err)
	if err == nil {
		for _, id := range []int{1, 5, 99} {
			var name string
			var bal float64
			err := st.QueryRowContext(ctx, id).Scan(&name, &bal)
			say("stmt id %d: %q %v %v", id, name, bal, err)
		}
		say("stmt close %v", st.Close())
	}
	_, err = db.PrepareContext(ctx, "select from where")
	say("bad prepare %v", err)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = db.QueryContext(cctx, "select 1")
	say("cancelled query %v", err)
	query("select count(*), sum(bal), min(name), max(name) from acct")
	return out
}

func sqliteDSN(t *testing.T, name string) string {
	return "file:" + filepath.Join(t.TempDir(), name) + "?_pragma=busy_timeout(5000)"
}

// sqltelGoroutines returns the stacks of the goroutines running sqltel's
// own code (exporter, flag cache, connector), the caller's excluded.
func sqltelGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // this goroutine
		}
		for _, pkg := range []string{"sqltel/sqltel/telemetry.", "sqltel/sqltel/flags.", "sqltel/sqltel/connector."} {
			if strings.Contains(g, pkg) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// waitNoSqltelGoroutines waits up to a second for sqltel's goroutines to
// end (a stopped exporter's goroutine may still be returning).
func waitNoSqltelGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		gs := sqltelGoroutines()
		if len(gs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d sqltel goroutine(s) still running:\n%s", len(gs), strings.Join(gs, "\n\n"))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Whatever the telemetry service does, a workload's results through sqltel
// are exactly those without it; DB.Close returns within the shutdown budget
// and leaves no sqltel goroutine, no flag reference and a stopped exporter.
func TestQueriesUnharmedByFaults(t *testing.T) {
	cycle := faultcollector.Steps(faultcollector.Status500, faultcollector.Status503, faultcollector.Reset,
		faultcollector.Status413, faultcollector.Status401, faultcollector.Timeout, faultcollector.Malformed)
	var failing []faultcollector.Step
	for range 30 {
		failing = append(failing, cycle...)
	}
	const budget = 300 * time.Millisecond
	for _, tc := range []struct {
		name    string
		cfg     faultcollector.Config
		records bool // telemetry ends up on
	}{
		{"events blackholed", faultcollector.Config{Default: faultcollector.Blackhole, FlagEnabled: true}, true},
		{"events failing", faultcollector.Config{Events: failing, Default: faultcollector.Status500, FlagEnabled: true}, true},
		{"events random seed 7", faultcollector.Config{Events: faultcollector.Script(7, 300), FlagEnabled: true}, true},
		{"flags failing", faultcollector.Config{FlagsDefault: faultcollector.Status500, Default: faultcollector.Blackhole, FlagEnabled: true}, false},
		{"flags blackholed", faultcollector.Config{FlagsDefault: faultcollector.Blackhole, Default: faultcollector.Blackhole, FlagEnabled: true}, false},
		{"flags reset", faultcollector.Config{FlagsDefault: faultcollector.Reset, FlagEnabled: true}, false},
		{"flags huge body", faultcollector.Config{FlagsDefault: faultcollector.HugeBody, FlagEnabled: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			raw, err := sql.Open("sqlite", sqliteDSN(t, "raw.db"))
			if err != nil {
				t.Fatal(err)
			}
			want := reliabilityWorkload(raw)
			raw.Close()

			fc := faultcollector.New(tc.cfg)
			defer fc.Close()
			// Short only where the flag service is the fault, to bound the
			// test: a healthy one must answer within it on a loaded machine,
			// or telemetry stays off and the case tests nothing.
			fetchTimeout := 5 * time.Second
			if tc.cfg.FlagsDefault != faultcollector.Healthy {
				fetchTimeout = 200 * time.Millisecond
			}
			cache := flags.NewCache(flags.WithFetchTimeout(fetchTimeout), flags.WithLogger(discardLogger()))
			defer cache.Close()
			c, err := connector.New(innerConnector(t, &sqlite.Driver{}, sqliteDSN(t, "wrapped.db")),
				connector.WithMode(connector.ModeOn), connector.WithEndpoint(fc.URL), connector.WithToken("tok"),
				connector.WithHost("rel:1"), connector.WithDBSystem("sqlite"), connector.WithFlagCache(cache),
				connector.WithRegistry(telemetry.NewRegistry()), connector.WithEnv(noEnv),
				connector.WithLogger(discardLogger()), connector.WithBatchSize(5),
				connector.WithFlushInterval(20*time.Millisecond), connector.WithShutdownTimeout(budget))
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(c)
			begin := time.Now()
			got := reliabilityWorkload(db)
			workTime := time.Since(begin)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("results through sqltel differ from the raw driver's (-raw +sqltel):\n%s", diff)
			}

			begin = time.Now()
			if err := db.Close(); err != nil {
				t.Errorf("DB.Close: %v", err)
			}
			closeTime := time.Since(begin)
			if closeTime > budget+time.Second {
				t.Errorf("DB.Close took %v, budget %v", closeTime, budget)
			}
			waitNoSqltelGoroutines(t)
			for _, hs := range cache.Stats() {
				if hs.RefCount != 0 {
					t.Errorf("flag %s %s: RefCount %d after DB.Close", hs.URL, hs.Host, hs.RefCount)
				}
			}
			s1 := c.Stats()
			time.Sleep(50 * time.Millisecond)
			s2 := c.Stats()
			if diff := cmp.Diff(s1, s2); diff != "" {
				t.Errorf("exporter stats still moving after DB.Close (-first +later):\n%s", diff)
			}
			if s2.Pending != 0 || s2.Recorded != s2.Delivered+s2.DroppedTotal() {
				t.Errorf("stats after DB.Close: %+v", s2)
			}
			if (s2.Recorded > 0) != tc.records {
				t.Errorf("recorded %d events, want telemetry on = %v", s2.Recorded, tc.records)
			}
			if uint64(fc.StoredCount()) != s2.Delivered {
				t.Errorf("collector stored %d, exporter delivered %d", fc.StoredCount(), s2.Delivered)
			}
			t.Logf("%d statements in %v; close %v; stats %+v; collector faults %v", len(got), workTime, closeTime,
				s2.Dropped, fc.FaultCounts())

			cache.Close()
			fc.Close()
			goleak.VerifyNone(t, ignore)
		})
	}
}
