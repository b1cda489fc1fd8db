package connector_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/connector"
	"github.com/sqltel/sqltel/internal/sqlfp"
	"github.com/sqltel/sqltel/telemetry"
)

// One db.ExecContext is one exec event, even when the driver's fast path
// answers ErrSkip and database/sql falls back to prepare, exec and close.
func TestErrSkipIsOneEvent(t *testing.T) {
	for _, d := range []minimal{{}, {skipFast: true}} {
		db, rec, _ := openRecording(t, d, "")
		db.SetMaxOpenConns(1)
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		rec.reset()
		if _, err := db.Exec("update t set a = ?", 1); err != nil {
			t.Fatalf("Exec: %v", err)
		}
		var v int64
		if err := db.QueryRow("select ?", 7).Scan(&v); err != nil || v != 7 {
			t.Fatalf("QueryRow = %d, %v", v, err)
		}
		// A driver with no fast path at all is prepared and executed by
		// database/sql, and that is what the events say: the wrapper has no
		// fast path either, since its mere presence would change how
		// database/sql converts the arguments.
		want := []string{"prepare", "stmt_exec", "prepare", "stmt_query"}
		if d.skipFast {
			want = []string{"exec", "query"}
		}
		if diff := cmp.Diff(want, rec.ops()); diff != "" {
			t.Errorf("skipFast=%v: events (-want +got):\n%s", d.skipFast, diff)
		}
		if !d.skipFast {
			continue
		}
		evs := rec.all()
		if evs[0].Kind != telemetry.KindUpdate || evs[0].Rows != 1 || evs[0].Fingerprint == 0 {
			t.Errorf("exec event = %+v", evs[0])
		}
		if evs[1].Kind != telemetry.KindSelect || evs[1].Rows != 1 {
			t.Errorf("query event = %+v", evs[1])
		}
		// A prepare the user asked for is still its own event.
		rec.reset()
		st, err := db.Prepare("select ?")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.QueryRow(3).Scan(&v); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if diff := cmp.Diff([]string{"prepare", "stmt_query"}, rec.ops()); diff != "" {
			t.Errorf("prepared: events (-want +got):\n%s", diff)
		}
	}
}

// A prepare's latency is the driver's: fingerprinting the statement, which
// for a long one takes a while, is left out, also from the exec that
// database/sql runs after an ErrSkip, which is timed from the prepare.
func TestPrepareLatencyLeavesOutFingerprinting(t *testing.T) {
	q := "insert into t values " + strings.Repeat("(12345, 'some literal text'), ", 20_000) + "(1, 'x')"
	begin := time.Now()
	sqlfp.Fingerprint(q)
	sqlfp.Kind(q)
	sqlfp.Normalize(q)
	cost := time.Since(begin) // what fingerprinting costs; the minimal driver prepares at once
	for _, d := range []minimal{{}, {skipFast: true}} {
		db, rec, _ := openRecording(t, d, "", connector.WithStatementText(true))
		db.SetMaxOpenConns(1)
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		rec.reset()
		if d.skipFast {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		} else {
			st, err := db.Prepare(q)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}
		evs := rec.all()
		if len(evs) != 1 {
			t.Fatalf("skipFast=%v: events %v", d.skipFast, rec.ops())
		}
		if evs[0].Latency > cost/2 {
			t.Errorf("skipFast=%v: %v latency %v, though fingerprinting alone takes %v and the driver nothing",
				d.skipFast, evs[0].Op, evs[0].Latency, cost)
		}
	}
}

// An exec through the ErrSkip fallback (go-sql-driver/mysql's usual path
// for a statement with arguments) reads the clock three times: the fast
// path's start, the prepare's start and the execution's end.
// Fingerprinting the prepared text waits until after that end, and takes
// no read of its own.
func TestImplicitExecClockReads(t *testing.T) {
	var reads atomic.Int64
	base := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return base.Add(time.Duration(reads.Add(1)) * time.Microsecond) }
	db, rec, _ := openRecording(t, minimal{skipFast: true}, "", connector.WithClock(clock))
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("select ?", 1); err != nil { // warm: the connection, the statement cache
		t.Fatal(err)
	}
	rec.reset()
	before := reads.Load()
	if _, err := db.Exec("select ?", 2); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load() - before; n > 3 || len(rec.all()) != 1 {
		t.Errorf("one exec through the ErrSkip fallback: %d clock reads (want at most 3), events %v", n, rec.ops())
	}
}

// A db.Exec with an argument too few fails on every driver, and is one
// failed exec event on every driver: pgx fails it in its fast path;
// go-sql-driver/mysql answers ErrSkip, and database/sql prepares the
// statement, finds the count wrong and closes it unexecuted.
func TestExecWithArgumentsShortIsOneFailedExec(t *testing.T) {
	for _, tc := range []struct {
		env, q string
		drv    driver.Driver
	}{
		{"SQLTEL_TEST_POSTGRES_DSN", "select $1::int, $2::int", stdlib.GetDefaultDriver()},
		{"SQLTEL_TEST_MYSQL_DSN", "select ?, ?", &mysql.MySQLDriver{}},
	} {
		db, rec, _ := openRecording(t, tc.drv, requireEnvDSN(t, tc.env))
		db.SetMaxOpenConns(1)
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		rec.reset()
		if _, err := db.Exec(tc.q, 1); err == nil {
			t.Fatalf("%s: Exec with an argument too few succeeded", tc.env)
		}
		evs := rec.all()
		if len(evs) != 1 || evs[0].Op != telemetry.OpExec || evs[0].Err == telemetry.ErrNone || evs[0].Kind != telemetry.KindSelect {
			t.Errorf("%s: events %+v, want one failed exec of a SELECT", tc.env, evs)
		}
	}
}

// The minimal driver has no Pinger, no execer and no context methods: the
// wrapper must fill in exactly what database/sql would, never ErrSkip where
// database/sql does not take it, and never panic.
func TestMinimalDriverFallbacks(t *testing.T) {
	db, _, _ := openRecording(t, minimal{}, "")
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if _, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable}); err == nil || !strings.Contains(err.Error(), "isolation") {
		t.Errorf("BeginTx with isolation on a driver without BeginTx: %v", err)
	}
	if _, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("read-only BeginTx: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.ExecContext(cctx, "update"); !errors.Is(err, context.Canceled) {
		t.Errorf("Exec on a cancelled context: %v", err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		if err := dc.(driver.Pinger).Ping(ctx); err != nil {
			t.Errorf("driver Ping: %v", err)
		}
		st, err := dc.(driver.Conn).Prepare("x")
		if err != nil {
			return err
		}
		defer st.Close()
		if _, err := st.(driver.StmtExecContext).ExecContext(ctx, []driver.NamedValue{{Name: "a", Ordinal: 1, Value: 1}}); err == nil || !strings.Contains(err.Error(), "Named Parameters") {
			t.Errorf("named value to a stmt without StmtExecContext: %v", err)
		}
		if _, err := st.(driver.StmtExecContext).ExecContext(ctx, nil); err != nil {
			t.Errorf("stmt exec: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A panic inside recording never reaches the query: results and errors are
// the driver's own, and the panic is counted.
func TestPanicFirewall(t *testing.T) {
	boom := telemetry.RecorderFunc(func(telemetry.Event) { panic("recorder bug") })
	// The recovered panic is logged, through a handler that panics too.
	c, err := connector.New(innerConnector(t, &sqlite.Driver{}, ":memory:"),
		connector.WithMode(connector.ModeForce), connector.WithRecorder(boom), connector.WithEnv(noEnv),
		connector.WithLogger(slog.New(panickingHandler{})))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("create table t (a int primary key)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("insert into t values (1)"); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec("insert into t values (1)")
	var serr *sqlite.Error
	if !errors.As(err, &serr) {
		t.Fatalf("duplicate insert: %T %v, want *sqlite.Error", err, err)
	}
	var n int
	if err := db.QueryRow("select count(*) from t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := c.RecoveredPanics(); got < 6 {
		t.Errorf("RecoveredPanics = %d, want every event's panic counted (>= 6)", got)
	}
}

func TestEventsOnSQLite(t *testing.T) {
	db, rec, _ := openRecording(t, &sqlite.Driver{}, ":memory:", connector.WithDBSystem("sqlite"))
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	mustExec(t, db, "create table t (a int primary key, b text)")
	rec.reset()
	mustExec(t, db, "insert into t values (1, 'secret-one'), (2, 'secret-two')")
	rows, err := db.Query("select a from t where a > ?", 0)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	rows.Close()
	_, errDup := db.Exec("insert into t values (1, 'x')")
	_, errSyn := db.Exec("selec nonsense")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("delete from t where a = ?", 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, errCan := db.ExecContext(cctx, "update t set b = 'z'")
	if errDup == nil || errSyn == nil || errCan == nil {
		t.Fatalf("expected errors: dup=%v syntax=%v cancelled=%v", errDup, errSyn, errCan)
	}

	type row struct {
		Op, Kind, Err string
		Rows          int64
		InTx          bool
	}
	var got []row
	evs0 := rec.all()
	for _, ev := range evs0 {
		if ev.Host != "test:1" || ev.DBSystem != "sqlite" || ev.ConnID == 0 || ev.Time.IsZero() || ev.Latency < 0 {
			t.Errorf("event identity: %+v", ev)
		}
		got = append(got, row{ev.Op.String(), ev.Kind.String(), ev.Err.String(), ev.Rows, ev.InTx})
	}
	want := []row{
		{"exec", "INSERT", "", 2, false},
		{"query", "SELECT", "", 2, false},
		{"exec", "INSERT", "constraint", -1, false},
		{"exec", "OTHER", "syntax", -1, false},
		{"begin", "BEGIN", "", -1, true},
		{"exec", "DELETE", "", 1, true},
		{"rollback", "", "", -1, true},
	}
	// database/sql checks the context before it reaches the driver, so the
	// cancelled exec may or may not be recorded; when it is, it says so.
	if len(got) == len(want)+1 {
		if last := got[len(got)-1]; last.Op != "exec" || last.Err != "canceled" {
			t.Errorf("cancelled exec recorded as %+v", last)
		}
		got = got[:len(want)]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	rec.reset()
	mustExec(t, db, "create table u (a int)") // SQLite's changes() still says 1 here
	if evs := rec.all(); len(evs) != 1 || evs[0].Kind != telemetry.KindDDL || evs[0].Rows != -1 {
		t.Errorf("DDL event = %+v, want kind DDL and no row count", evs)
	}
	// Nor after the other statements that change nothing: changes() still
	// says 3 after this insert.
	mustExec(t, db, "insert into u values (1), (2), (3)")
	for _, q := range []string{"pragma user_version = 7", "savepoint s1", "release s1", "analyze"} {
		rec.reset()
		mustExec(t, db, q)
		if evs := rec.all(); len(evs) != 1 || evs[0].Kind != telemetry.KindOther || evs[0].Rows != -1 {
			t.Errorf("%q event = %+v, want kind OTHER and no row count", q, evs)
		}
	}
	fa, fb := evs0[0].Fingerprint, evs0[2].Fingerprint
	if fa != fb {
		t.Errorf("inserts differing only in literals have fingerprints %x and %x", fa, fb)
	}
}

func TestNamedArgsSQLite(t *testing.T) {
	db, _, _ := openRecording(t, &sqlite.Driver{}, ":memory:")
	var n int
	if err := db.QueryRow("select @a + @b", sql.Named("a", 2), sql.Named("b", 3)).Scan(&n); err != nil || n != 5 {
		t.Fatalf("named args: %d, %v", n, err)
	}
}

func TestSqlmockMultipleResultSets(t *testing.T) {
	mdb, mock, err := sqlmock.NewWithDSN("sqltel_multi")
	if err != nil {
		t.Fatal(err)
	}
	mock.ExpectQuery("select").WillReturnRows(
		sqlmock.NewRows([]string{"a"}).AddRow(1),
		sqlmock.NewRows([]string{"b"}).AddRow(2).AddRow(3))
	mock.ExpectClose()

	rec := &events{}
	wc, err := connector.New(dsnConnector{"sqltel_multi", mdb.Driver()}, connector.WithMode(connector.ModeForce), connector.WithRecorder(rec), connector.WithEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(wc)
	rows, err := db.Query("select a; select b")
	if err != nil {
		t.Fatal(err)
	}
	sets := readResultSets(t, rows)
	rows.Close()
	if diff := cmp.Diff([][]int{{1}, {2, 3}}, sets); diff != "" {
		t.Errorf("result sets (-want +got):\n%s", diff)
	}
	if evs := rec.all(); len(evs) < 2 || evs[1].Op != telemetry.OpQuery || evs[1].Rows != 3 {
		t.Errorf("events: %+v", evs)
	}
	db.Close()
	mdb.Close()
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
}

func TestPostgresTypesAndErrors(t *testing.T) {
	dsn := requireEnvDSN(t, "SQLTEL_TEST_POSTGRES_DSN")
	db, rec, _ := openRecording(t, stdlib.GetDefaultDriver(), dsn)
	ctx := context.Background()
	// []int32 is not a driver.Value: only pgx's NamedValueChecker, mirrored
	// through the wrapper, lets it through.
	m := pgtype.NewMap()
	var out []int32
	if err := db.QueryRowContext(ctx, "select $1::int4[]", []int32{1, 2, 3}).Scan(m.SQLScanner(&out)); err != nil {
		t.Fatalf("int4[] round trip: %v", err)
	}
	if diff := cmp.Diff([]int32{1, 2, 3}, out); diff != "" {
		t.Errorf("array (-want +got):\n%s", diff)
	}
	var p pgtype.Point
	if err := db.QueryRowContext(ctx, "select point(1.5, 2)").Scan(&p); err != nil || p.P.X != 1.5 {
		t.Errorf("custom type: %+v %v", p, err)
	}
	_, err := db.ExecContext(ctx, "select * from sqltel_no_such_table")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Fatalf("error is %T %v, want *pgconn.PgError 42P01", err, err)
	}
	if evs := rec.all(); evs[len(evs)-1].Err != telemetry.ErrSyntax {
		t.Errorf("undefined table recorded as %q", evs[len(evs)-1].Err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		u, ok := dc.(interface{ Unwrap() driver.Conn })
		if !ok {
			t.Fatalf("%T has no Unwrap", dc)
		}
		pc, ok := u.Unwrap().(*stdlib.Conn)
		if !ok {
			t.Fatalf("Unwrap gave %T, want *stdlib.Conn", u.Unwrap())
		}
		return pc.Conn().Ping(ctx)
	})
	if err != nil {
		t.Errorf("Raw: %v", err)
	}
}

func TestMySQLTypesAndResultSets(t *testing.T) {
	dsn := requireEnvDSN(t, "SQLTEL_TEST_MYSQL_DSN")
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MultiStatements = true
	db, rec, _ := openRecording(t, &mysql.MySQLDriver{}, cfg.FormatDSN())
	var u uint64
	if err := db.QueryRow("select ?", uint64(math.MaxUint64)).Scan(&u); err != nil || u != math.MaxUint64 {
		t.Fatalf("uint64 round trip: %d, %v", u, err)
	}
	rows, err := db.Query("select 1; select 2 union all select 3")
	if err != nil {
		t.Fatal(err)
	}
	sets := readResultSets(t, rows)
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]int{{1}, {2, 3}}, sets); diff != "" {
		t.Errorf("result sets (-want +got):\n%s", diff)
	}
	_, err = db.Exec("select * from sqltel_no_such_table")
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) || myErr.Number != 1146 {
		t.Fatalf("error is %T %v, want *mysql.MySQLError 1146", err, err)
	}
	if evs := rec.all(); evs[len(evs)-1].Err != telemetry.ErrSyntax {
		t.Errorf("missing table recorded as %q", evs[len(evs)-1].Err)
	}
	// A later statement fails: the user sees it from NextResultSet, and
	// the query's event carries it, though the driver's Close is clean.
	rows, err = db.Query("select 1; select * from sqltel_no_such_table")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if rows.NextResultSet() || !errors.As(rows.Err(), &myErr) || myErr.Number != 1146 {
		t.Fatalf("second result set: %v, want MySQL error 1146", rows.Err())
	}
	rows.Close()
	if evs := rec.all(); evs[len(evs)-1].Op != telemetry.OpQuery || evs[len(evs)-1].Err != telemetry.ErrSyntax {
		t.Errorf("query whose second statement failed recorded as %+v", evs[len(evs)-1])
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// readResultSets reads every result set of one-integer-column rows.
func readResultSets(t *testing.T, rows *sql.Rows) [][]int {
	t.Helper()
	var sets [][]int
	for {
		var set []int
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			set = append(set, v)
		}
		sets = append(sets, set)
		if !rows.NextResultSet() {
			return sets
		}
	}
}

// Rows open side by side on one connection each count their own rows, and
// the rows wrapper a closed result set leaves behind serves the next query.
func TestInterleavedRowsOnOneConn(t *testing.T) {
	db, rec, _ := openRecording(t, &sqlite.Driver{}, ":memory:")
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	open := func(n int) *sql.Rows {
		r, err := c.QueryContext(ctx, "with recursive s(i) as (select 1 union all select i+1 from s where i < ?) select i from s", n)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	drain := func(r *sql.Rows) (sum int) {
		for r.Next() {
			var v int
			if err := r.Scan(&v); err != nil {
				t.Fatal(err)
			}
			sum += v
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	rec.reset()
	a, b := open(3), open(4)
	if got := drain(a); got != 6 {
		t.Errorf("first rows summed %d, want 6", got)
	}
	cc := open(5) // reuses the wrapper a left behind, while b is open
	if got, want := drain(b)+drain(cc), 10+15; got != want {
		t.Errorf("interleaved rows summed %d, want %d", got, want)
	}
	var rows []int64
	for _, ev := range rec.all() {
		if ev.Op == telemetry.OpQuery {
			rows = append(rows, ev.Rows)
		}
	}
	if diff := cmp.Diff([]int64{3, 4, 5}, rows); diff != "" {
		t.Errorf("rows per query event (-want +got):\n%s", diff)
	}
}
