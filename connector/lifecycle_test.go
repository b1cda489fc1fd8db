package connector_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/connector"
	"github.com/sqltel/sqltel/examples/collector/collector"
	"github.com/sqltel/sqltel/flags"
	"github.com/sqltel/sqltel/internal/faultcollector"
	"github.com/sqltel/sqltel/telemetry"
)

// countingFetcher answers every flag request with the same answer.
type countingFetcher struct {
	calls atomic.Int64
	ans   flags.Answer
	err   error
}

func (f *countingFetcher) Fetch(context.Context, string) (flags.Answer, error) {
	f.calls.Add(1)
	return f.ans, f.err
}

func newFlagCache(t *testing.T, f *countingFetcher) *flags.Cache {
	t.Helper()
	fc := flags.NewCache(flags.WithFetcher(func(flags.Endpoint) flags.Fetcher { return f }))
	t.Cleanup(func() { fc.Close() })
	return fc
}

func TestPrecedence(t *testing.T) {
	fetchErr := errors.New("flag service down")
	for _, tc := range []struct {
		name      string
		mode      connector.Mode
		env       map[string]string
		flag      bool
		flagErr   error
		records   bool
		wantFetch bool
	}{
		{name: "default off", mode: "", flag: true},
		{name: "off", mode: connector.ModeOff, flag: true},
		{name: "on, flag true", mode: connector.ModeOn, flag: true, records: true, wantFetch: true},
		{name: "on, flag false", mode: connector.ModeOn, flag: false, wantFetch: true},
		{name: "on, never fetched", mode: connector.ModeOn, flagErr: fetchErr, wantFetch: true},
		{name: "on, SQLTEL_TELEMETRY=off", mode: connector.ModeOn, flag: true, env: map[string]string{"SQLTEL_TELEMETRY": "off"}},
		{name: "on, DO_NOT_TRACK=1", mode: connector.ModeOn, flag: true, env: map[string]string{"DO_NOT_TRACK": "1"}},
		{name: "force", mode: connector.ModeForce, flag: false, records: true},
		{name: "force, DO_NOT_TRACK=1", mode: connector.ModeForce, env: map[string]string{"DO_NOT_TRACK": "1"}},
		{name: "force, SQLTEL_TELEMETRY=off", mode: connector.ModeForce, env: map[string]string{"SQLTEL_TELEMETRY": "off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &countingFetcher{ans: flags.Answer{Enabled: tc.flag}, err: tc.flagErr}
			rec := &events{}
			c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
				connector.WithMode(tc.mode), connector.WithRecorder(rec), connector.WithEndpoint("http://127.0.0.1:1"),
				connector.WithFlagCache(newFlagCache(t, f)), connector.WithEnv(func(k string) string { return tc.env[k] }),
				connector.WithLogger(discardLogger()))
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(c)
			defer db.Close()
			if _, err := db.Exec("select 1"); err != nil {
				t.Fatal(err)
			}
			if got := len(rec.all()) > 0; got != tc.records {
				t.Errorf("records = %v, want %v", got, tc.records)
			}
			if got := f.calls.Load() > 0; got != tc.wantFetch {
				t.Errorf("flag fetched = %v, want %v", got, tc.wantFetch)
			}
		})
	}
}

// Many connections opened at once to a cold host cost one flag fetch, and
// all of them follow its answer.
func TestConcurrentConnectsShareOneFetch(t *testing.T) {
	f := &countingFetcher{ans: flags.Answer{Enabled: true}}
	rec := &events{}
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
		connector.WithMode(connector.ModeOn), connector.WithRecorder(rec), connector.WithEndpoint("http://127.0.0.1:1"),
		connector.WithFlagCache(newFlagCache(t, f)), connector.WithEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	const n = 20
	var wg sync.WaitGroup
	conns := make([]*sql.Conn, n)
	for i := range n {
		wg.Go(func() {
			cn, err := db.Conn(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			conns[i] = cn
		})
	}
	wg.Wait()
	for _, cn := range conns {
		if cn != nil {
			cn.Close()
		}
	}
	if got := f.calls.Load(); got != 1 {
		t.Errorf("%d connections made %d flag fetches, want 1", n, got)
	}
	if st := c.FlagStats(); len(st) != 1 || st[0].Fetches != 1 || !st[0].Value || st[0].RefCount != 2 {
		t.Errorf("FlagStats with the pool's 2 idle connections = %+v, want one host, 1 fetch, enabled, 2 references", st)
	}
	db.Close()
	if st := c.FlagStats(); len(st) != 1 || st[0].RefCount != 0 {
		t.Errorf("FlagStats after DB.Close = %+v, want no references", st)
	}
	if got := rec.count(telemetry.OpConnect); got != n {
		t.Errorf("%d connections recorded, want %d", got, n)
	}
}

// startCollector runs the reference collector on loopback with the flag on
// for host.
func startCollector(t *testing.T, host string) (*httptest.Server, *collector.Server) {
	t.Helper()
	sdb, dialect, err := collector.Open("file:" + filepath.Join(t.TempDir(), "collector.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	srv, err := collector.New(collector.Config{DB: sdb, Dialect: dialect, Enable: []string{host}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs, srv
}

// The whole loop: flag on at the collector, a workload, DB.Close; every
// recorded event is delivered and stored once.
func TestEndToEndDeliversEverything(t *testing.T) {
	hs, srv := startCollector(t, "e2e:1")
	fc := flags.NewCache()
	defer fc.Close()
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
		connector.WithMode(connector.ModeOn), connector.WithEndpoint(hs.URL), connector.WithHost("e2e:1"),
		connector.WithFlagCache(fc), connector.WithRegistry(telemetry.NewRegistry()),
		connector.WithFlushInterval(100*time.Millisecond), connector.WithBatchSize(50), connector.WithEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(2)
	mustExec(t, db, "create table t (a int primary key)")
	for i := range 300 {
		mustExec(t, db, "insert into t values (?)", i)
	}
	var n int
	if err := db.QueryRow("select count(*) from t").Scan(&n); err != nil || n != 300 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Recorded < 302 || st.Delivered != st.Recorded || st.DroppedTotal() != 0 || st.Pending != 0 {
		t.Fatalf("stats after DB.Close: %+v", st)
	}
	rep, err := srv.Report(context.Background(), "e2e:1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	for _, ops := range rep.Ops {
		for _, n := range ops {
			stored += n
		}
	}
	if uint64(stored) != st.Delivered {
		t.Errorf("collector stored %d events, exporter delivered %d", stored, st.Delivered)
	}
	if rep.Ops["e2e:1"]["exec"] != 301 {
		t.Errorf("stored exec events: %v", rep.Ops["e2e:1"])
	}
}

// Against a collector that accepts and never answers: closing a connection
// that is not the last returns at once; the last Close returns within the
// shutdown budget, and every event is accounted for.
func TestCloseAgainstBlackhole(t *testing.T) {
	hs := blackhole(t)
	fc := flags.NewCache()
	defer fc.Close()
	// Long enough that a Close that waited for the drain (the whole budget)
	// stands apart from one that did not, on a loaded machine too.
	const budget = 2 * time.Second
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
		connector.WithMode(connector.ModeOn), connector.WithEndpoint(hs.URL), connector.WithHost("bh:1"),
		connector.WithFlagCache(fc), connector.WithRegistry(telemetry.NewRegistry()),
		connector.WithBatchSize(1), connector.WithShutdownTimeout(budget), connector.WithEnv(noEnv),
		connector.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxIdleConns(0) // a released sql.Conn is closed, not pooled
	ctx := context.Background()
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := a.ExecContext(ctx, "select ?", i); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	a.Close()
	if d := time.Since(start); d > budget/2 {
		t.Errorf("closing a connection that is not the last took %v", d)
	}
	start = time.Now()
	b.Close()
	db.Close()
	if d := time.Since(start); d > budget+time.Second {
		t.Errorf("the last Close took %v, budget %v", d, budget)
	}
	st := c.Stats()
	if st.Recorded == 0 || st.Recorded != st.Delivered+st.DroppedTotal()+uint64(st.Pending) || st.Dropped.Shutdown == 0 {
		t.Errorf("stats after a blackholed close: %+v", st)
	}
}

// A pool that closes every connection after use (SetMaxIdleConns(0)) must
// not stop and restart the exporter, flushing on the user's goroutine, at
// each statement: the connector's own reference keeps one exporter until
// DB.Close, which delivers everything in one request.
func TestChurningPoolKeepsOneExporter(t *testing.T) {
	hs, srv := startCollector(t, "churn:1")
	fc := flags.NewCache()
	defer fc.Close()
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
		connector.WithMode(connector.ModeOn), connector.WithEndpoint(hs.URL), connector.WithHost("churn:1"),
		connector.WithFlagCache(fc), connector.WithRegistry(telemetry.NewRegistry()),
		connector.WithFlushInterval(time.Hour), connector.WithBatchSize(10_000), connector.WithEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxIdleConns(0)
	for i := range 50 {
		mustExec(t, db, "select ?", i)
	}
	if st := c.Stats(); st.Requests != 0 || st.Pending != 150 {
		t.Errorf("before DB.Close: %d requests, %d pending; want 0 and 150 (connect, exec, close x 50)", st.Requests, st.Pending)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Requests != 1 || st.Delivered != 150 || st.Recorded != 150 {
		t.Errorf("after DB.Close: %+v", st)
	}
	rep, err := srv.Report(context.Background(), "churn:1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Ops["churn:1"]["exec"]; got != 50 {
		t.Errorf("collector stored %d execs, want 50", got)
	}
}

// With telemetry on, a connection is wrapped whether or not its flag let it
// record, so the type sql.Conn.Raw sees does not change when a server flips
// the flag; connector.Unwrap reaches the driver's own either way.
func TestRawTypeDoesNotDependOnFlag(t *testing.T) {
	var types []string
	for _, enabled := range []bool{false, true} {
		f := &countingFetcher{ans: flags.Answer{Enabled: enabled}}
		c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
			connector.WithMode(connector.ModeOn), connector.WithRecorder(&events{}), connector.WithEndpoint("http://127.0.0.1:1"),
			connector.WithFlagCache(newFlagCache(t, f)), connector.WithEnv(noEnv))
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(c)
		sc, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		err = sc.Raw(func(dc any) error {
			types = append(types, fmt.Sprintf("%T", dc))
			if got := fmt.Sprintf("%T", connector.Unwrap(dc)); got != "*sqlite.conn" {
				t.Errorf("flag %v: Unwrap gave %T, want the sqlite driver's conn", enabled, connector.Unwrap(dc))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sc.Close()
		db.Close()
	}
	if types[0] != types[1] {
		t.Errorf("Raw sees %s with the flag off and %s with it on", types[0], types[1])
	}
}

// Rows that outlive DB.Close: their connection's Close, on the user's
// goroutine, must not wait for the exporter's final drain.
func TestRowsOutlivingDBCloseDoNotWait(t *testing.T) {
	hs := blackhole(t)
	const budget = 2 * time.Second
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
		connector.WithMode(connector.ModeForce), connector.WithEndpoint(hs.URL), connector.WithHost("late:1"),
		connector.WithRegistry(telemetry.NewRegistry()), connector.WithBatchSize(1),
		connector.WithShutdownTimeout(budget), connector.WithEnv(noEnv), connector.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	rows, err := db.Query("select 1 union all select 2")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for rows.Next() {
	}
	rows.Close()
	if d := time.Since(start); d > budget/2 {
		t.Errorf("reading and closing rows after DB.Close took %v: it waited for the drain", d)
	}
	// The drain runs in the background, bounded by the budget.
	deadline := time.Now().Add(budget + time.Second)
	for c.Stats().Pending != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := c.Stats(); st.Pending != 0 || st.Recorded != st.Delivered+st.DroppedTotal() {
		t.Errorf("after the background drain: %+v", st)
	}
}

// blackhole is a collector whose flag is on and that accepts event batches
// and never answers them (internal/faultcollector; released when the test
// ends).
func blackhole(t *testing.T) *faultcollector.Collector {
	t.Helper()
	fc := faultcollector.New(faultcollector.Config{Default: faultcollector.Blackhole, FlagEnabled: true})
	t.Cleanup(fc.Close)
	return fc
}

// A Connect that races Connector.Close: the connection it returns must not
// end up holding the exporter's last reference, which would make its Close
// drain on the caller's goroutine.
func TestConnectRacingCloseDoesNotWait(t *testing.T) {
	hs := blackhole(t)
	const budget = 600 * time.Millisecond
	for i := range 100 {
		c, err := connector.New(innerConnector(t, minimal{}, ""),
			connector.WithMode(connector.ModeForce), connector.WithEndpoint(hs.URL), connector.WithHost("race:1"),
			connector.WithRegistry(telemetry.NewRegistry()), connector.WithBatchSize(1),
			connector.WithShutdownTimeout(budget), connector.WithEnv(noEnv), connector.WithLogger(discardLogger()))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var dc driver.Conn
		start := make(chan struct{})
		wg.Go(func() { <-start; dc, _ = c.Connect(context.Background()) })
		wg.Go(func() { <-start; c.Close() })
		close(start)
		wg.Wait()
		t0 := time.Now()
		dc.Close()
		if d := time.Since(t0); d > budget/2 {
			t.Fatalf("iteration %d: conn.Close after a racing Connector.Close took %v", i, d)
		}
	}
	// The background drains are bounded by the budget; let them finish
	// before goleak looks.
	time.Sleep(budget + 200*time.Millisecond)
}

// Two connectors share one exporter (same endpoint, same registry): closing
// one while the other stays open flushes what is buffered, and the exporter
// goes on for the other.
func TestConnectorCloseFlushesSharedExporter(t *testing.T) {
	hs, srv := startCollector(t, "shared:1")
	reg := telemetry.NewRegistry()
	open := func() (*sql.DB, *connector.Connector) {
		c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
			connector.WithMode(connector.ModeForce), connector.WithEndpoint(hs.URL), connector.WithHost("shared:1"),
			connector.WithRegistry(reg), connector.WithFlushInterval(time.Hour), connector.WithBatchSize(1000),
			connector.WithEnv(noEnv))
		if err != nil {
			t.Fatal(err)
		}
		return sql.OpenDB(c), c
	}
	dbA, cA := open()
	dbB, cB := open()
	defer dbB.Close()
	for i := range 10 {
		mustExec(t, dbA, "select ?", i)
		mustExec(t, dbB, "select ?", i)
	}
	if st := cA.Stats(); st.Requests != 0 {
		t.Fatalf("sent before any Close: %+v", st)
	}
	if err := dbA.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := srv.Report(context.Background(), "shared:1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Ops["shared:1"]["exec"]; got != 20 {
		t.Errorf("after closing one of two DBs the collector has %d execs, want all 20 flushed", got)
	}
	mustExec(t, dbB, "select 1") // B still records into the running exporter
	if st := cB.Stats(); st.Pending != 1 {
		t.Errorf("B after A's Close: %+v, want its new event pending", st)
	}
}

// After telemetry's registry is shut down, a connection opened before keeps
// recording into the stopped exporter (each event dropped, counted), and a
// new one records into a fresh exporter: the connector's Stats count both,
// including what the old connection records after the new exporter came.
func TestStatsCountAStoppedExportersLaterDrops(t *testing.T) {
	hs, _ := startCollector(t, "shutdown:1")
	reg := telemetry.NewRegistry()
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
		connector.WithMode(connector.ModeForce), connector.WithEndpoint(hs.URL), connector.WithHost("shutdown:1"),
		connector.WithRegistry(reg), connector.WithFlushInterval(time.Hour), connector.WithEnv(noEnv),
		connector.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	ctx := context.Background()
	early, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	if err := reg.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	late, err := db.Conn(ctx) // pins a fresh exporter
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	before := c.Stats()
	for i := range 10 {
		if _, err := early.ExecContext(ctx, "select ?", i); err != nil {
			t.Fatal(err)
		}
	}
	after := c.Stats()
	if after.Recorded-before.Recorded != 10 || after.Dropped.Shutdown-before.Dropped.Shutdown != 10 {
		t.Errorf("10 statements on the early connection: Recorded %d -> %d, Dropped.Shutdown %d -> %d",
			before.Recorded, after.Recorded, before.Dropped.Shutdown, after.Dropped.Shutdown)
	}
}

// FlagStats reports the flag entry this connector uses, not another
// connector's for the same URL and host under another token.
func TestFlagStatsIsTheConnectorsOwn(t *testing.T) {
	cache := newFlagCache(t, &countingFetcher{ans: flags.Answer{Enabled: true}})
	var dbs []*sql.DB
	var cs []*connector.Connector
	for _, token := range []string{"a", "b"} {
		c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
			connector.WithMode(connector.ModeOn), connector.WithRecorder(&events{}), connector.WithEndpoint("http://127.0.0.1:1"),
			connector.WithToken(token), connector.WithFlagCache(cache), connector.WithEnv(noEnv))
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(c)
		defer db.Close()
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		dbs, cs = append(dbs, db), append(cs, c)
	}
	// A second idle connection for the first connector only.
	c1, err := dbs[0].Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c2, err := dbs[0].Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	c1.Close()
	for i, want := range []int{2, 1} {
		if st := cs[i].FlagStats(); len(st) != 1 || st[0].RefCount != want {
			t.Errorf("connector %d: FlagStats = %+v, want its one entry with %d references", i, st, want)
		}
	}
}

// A connection opened after Connector.Close does not record: the
// connector's exporter reference is gone, and nothing would flush it.
func TestConnectAfterCloseDoesNotRecord(t *testing.T) {
	rec := &events{}
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
		connector.WithMode(connector.ModeForce), connector.WithRecorder(rec), connector.WithEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	cn, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	if _, err := cn.(driver.ExecerContext).ExecContext(context.Background(), "create table t (a int)", nil); err != nil {
		t.Fatal(err)
	}
	if evs := rec.all(); len(evs) != 0 {
		t.Errorf("a connection opened after Close recorded %v", rec.ops())
	}
}

// A connection whose flag said no is wrapped but hands out the driver's own
// statements and rows, and the one recording reuses its rows wrapper once
// the previous rows are closed (one allocation fewer per query) but never
// while they are open.
func TestWrappersOnlyWhenRecording(t *testing.T) {
	ctx := context.Background()
	type unwrapper interface{ Unwrap() driver.Rows }
	for _, on := range []bool{false, true} {
		c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
			connector.WithMode(connector.ModeOn), connector.WithRecorder(&events{}), connector.WithEndpoint("http://127.0.0.1:1"),
			connector.WithFlagCache(newFlagCache(t, &countingFetcher{ans: flags.Answer{Enabled: on}})), connector.WithEnv(noEnv))
		if err != nil {
			t.Fatal(err)
		}
		cn, err := c.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st, err := cn.(driver.ConnPrepareContext).PrepareContext(ctx, "select 1")
		if err != nil {
			t.Fatal(err)
		}
		if _, wrapped := st.(interface{ Unwrap() driver.Stmt }); wrapped != on {
			t.Errorf("flag %v: prepared statement wrapped = %v", on, wrapped)
		}
		st.Close()
		q := cn.(driver.QueryerContext)
		r1, err := q.QueryContext(ctx, "select 1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, wrapped := r1.(unwrapper); wrapped != on {
			t.Errorf("flag %v: rows wrapped = %v", on, wrapped)
		}
		if on {
			r2, err := q.QueryContext(ctx, "select 2", nil)
			if err != nil {
				t.Fatal(err)
			}
			if r2 == r1 {
				t.Error("a second result set open at once got the first one's wrapper")
			}
			r2.Close()
			r1.Close()
			r3, err := q.QueryContext(ctx, "select 3", nil)
			if err != nil {
				t.Fatal(err)
			}
			if r3 != r1 {
				t.Error("the wrapper of closed rows was not reused")
			}
			r3.Close()
		} else {
			r1.Close()
		}
		cn.Close()
		c.Close()
	}
}

// A nil Option, as in a slice built with some options left out, is
// skipped: it panicked.
func TestNilOptionSkipped(t *testing.T) {
	var maybe connector.Option
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"), connector.WithEnv(noEnv), maybe)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
}
