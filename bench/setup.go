package bench

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"

	"github.com/XSAM/otelsql"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/ngrok/sqlmw"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"modernc.org/sqlite"

	"github.com/sqltel/sqltel/connector"
	sqltel "github.com/sqltel/sqltel/driver"
	"github.com/sqltel/sqltel/examples/collector/collector"
	"github.com/sqltel/sqltel/flags"
	"github.com/sqltel/sqltel/telemetry"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN the
// PostgreSQL benchmarks use; they are skipped when it is empty.
const PostgresEnv = "SQLTEL_BENCH_POSTGRES_DSN"

// OnParamsEnv names the environment variable whose DSN parameters
// ("telemetry_batch_size=500&telemetry_gzip=true") the on wrapper adds to
// its defaults, to compare exporter settings with the same benchmarks.
const OnParamsEnv = "SQLTEL_BENCH_ON_PARAMS"

// Wrapper names what sits between database/sql and the driver.
type Wrapper string

// The wrappers compared.
const (
	Raw     Wrapper = "raw"     // the driver itself
	Off     Wrapper = "off"     // sqltel, default DSN: telemetry off
	On      Wrapper = "on"      // sqltel, telemetry=on, live exporter to a loopback collector
	OtelSQL Wrapper = "otelsql" // XSAM/otelsql, no-op tracer and meter providers
	SQLMW   Wrapper = "sqlmw"   // ngrok/sqlmw, NullInterceptor

	// Nop is sqltel recording into a no-op recorder (mode force): the
	// query path's own cost (wrappers, fingerprint, event), without an
	// exporter's goroutine or a collector competing for the cores. It is a
	// diagnostic for On, not a configuration anyone runs.
	Nop Wrapper = "nop"
)

// Wrappers lists the wrappers in table order; Raw comes first because every
// ratio is taken against it.
var Wrappers = []Wrapper{Raw, Off, On, Nop, OtelSQL, SQLMW}

// Workloads lists the workload names in table order (see Backend.Run).
var Workloads = []string{"exec", "queryrow", "prepared", "tx"}

// WrapperList returns the wrappers' names joined by sep, in table order,
// for the commands' flags and usage strings.
func WrapperList(sep string) string {
	names := make([]string, len(Wrappers))
	for i, w := range Wrappers {
		names[i] = string(w)
	}
	return strings.Join(names, sep)
}

// Backend is a database the benchmarks run on.
type Backend struct {
	Name   string // "sqlite" or "postgres"
	Driver driver.Driver
	DSN    string

	// Statements, in the backend's placeholder syntax.
	Update, Select, Insert string
	// Setup creates the tables and resets them; it is run on every new DB.
	Setup []string
}

// SQLite is modernc.org/sqlite in memory. With one pooled connection the
// in-memory database lives as long as the *sql.DB.
func SQLite() Backend {
	return Backend{
		Name:   "sqlite",
		Driver: &sqlite.Driver{},
		DSN:    "file::memory:",
		Update: "UPDATE bench_t SET v = v + 1 WHERE id = ?",
		Select: "SELECT ?",
		Insert: "INSERT INTO bench_log (v) VALUES (?)",
		Setup: []string{
			"CREATE TABLE bench_t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
			"INSERT INTO bench_t (id, v) VALUES (1, 0)",
			"CREATE TABLE bench_log (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
		},
	}
}

// Postgres is pgx/v5's database/sql driver on dsn. Its tables have names
// of their own so that they cannot collide with the library's tests.
func Postgres(dsn string) Backend {
	return Backend{
		Name:   "postgres",
		Driver: stdlib.GetDefaultDriver(),
		DSN:    dsn,
		Update: "UPDATE sqltel_bench_t SET v = v + 1 WHERE id = $1",
		Select: "SELECT $1::bigint",
		Insert: "INSERT INTO sqltel_bench_log (v) VALUES ($1)",
		Setup: []string{
			"CREATE TABLE IF NOT EXISTS sqltel_bench_t (id bigint PRIMARY KEY, v bigint NOT NULL)",
			"INSERT INTO sqltel_bench_t (id, v) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET v = 0",
			"CREATE TABLE IF NOT EXISTS sqltel_bench_log (id bigserial PRIMARY KEY, v bigint NOT NULL)",
			"TRUNCATE sqltel_bench_log",
		},
	}
}

// DB is an open benchmark database: one pooled connection, tables set up.
type DB struct {
	*sql.DB
	// Telemetry is the sqltel connector for Off and On, nil otherwise; its
	// Stats say what was recorded.
	Telemetry *connector.Connector
	// Exporters is On's registry of its own (nil otherwise): its Flush
	// delivers what is buffered, so that a benchmark can count that work.
	Exporters *telemetry.Registry
}

// Options are the sqltel options of the On wrapper beyond its DSN.
type Options struct {
	// Collector is the base URL of a running collector (StartCollector).
	Collector string
	// Extra DSN parameters, e.g. "telemetry_buffer_size=100000".
	Params []string
}

// Open opens b through w and sets it up. For On, opts.Collector must be a
// running collector; the connection is opened, and its flag fetched, before
// Open returns, so the first statement pays neither.
func Open(ctx context.Context, b Backend, w Wrapper, opts Options) (*DB, error) {
	var (
		c   driver.Connector
		tc  *connector.Connector
		reg *telemetry.Registry
		err error
	)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	switch w {
	case Raw:
		c, err = rawConnector(b.Driver, b.DSN)
	case Off:
		tc, err = sqltel.NewConnector(b.Driver, b.DSN)
		c = tc
	case On:
		if opts.Collector == "" {
			return nil, errors.New("bench: the on wrapper needs a collector")
		}
		params := append([]string{"telemetry=on", "telemetry_endpoint=" + url.QueryEscape(opts.Collector)}, opts.Params...)
		if x := os.Getenv(OnParamsEnv); x != "" {
			params = append(params, strings.Split(x, "&")...)
		}
		reg = telemetry.NewRegistry()
		tc, err = sqltel.NewConnector(b.Driver, withParams(b.DSN, params),
			// A cache and registry of its own, so that one DB's exporter
			// never outlives it; no environment opt-out, so that a
			// DO_NOT_TRACK on the machine cannot silently turn this into Off.
			connector.WithFlagCache(flags.NewCache()),
			connector.WithRegistry(reg),
			connector.WithEnv(func(string) string { return "" }),
			connector.WithLogger(quiet))
		c = tc
	case Nop:
		tc, err = sqltel.NewConnector(b.Driver, b.DSN,
			connector.WithMode(connector.ModeForce),
			connector.WithRecorder(telemetry.RecorderFunc(func(telemetry.Event) {})),
			connector.WithEnv(func(string) string { return "" }))
		c = tc
	case OtelSQL:
		var rc driver.Connector
		if rc, err = rawConnector(b.Driver, b.DSN); err == nil {
			db := otelsql.OpenDB(rc,
				otelsql.WithTracerProvider(tracenoop.NewTracerProvider()),
				otelsql.WithMeterProvider(metricnoop.NewMeterProvider()))
			return setup(ctx, db, nil, b)
		}
	case SQLMW:
		c, err = rawConnector(sqlmw.Driver(b.Driver, sqlmw.NullInterceptor{}), b.DSN)
	default:
		return nil, fmt.Errorf("bench: unknown wrapper %q", w)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s connector: %w", w, err)
	}
	d, err := setup(ctx, sql.OpenDB(c), tc, b)
	if err == nil {
		d.Exporters = reg
	}
	return d, err
}

func setup(ctx context.Context, db *sql.DB, tc *connector.Connector, b Backend) (*DB, error) {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	for _, q := range b.Setup {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("bench: setup %q: %w", q, err)
		}
	}
	return &DB{DB: db, Telemetry: tc}, nil
}

// rawConnector is the connector database/sql itself would use for d.
func rawConnector(d driver.Driver, dsn string) (driver.Connector, error) {
	if dc, ok := d.(driver.DriverContext); ok {
		return dc.OpenConnector(dsn)
	}
	return dsnConnector{d: d, dsn: dsn}, nil
}

type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// withParams appends query parameters to dsn.
func withParams(dsn string, params []string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(params, "&")
}

// collectorEnv, when set, turns the benchmark or soak binary into the
// collector process of its parent (see StartCollector).
const collectorEnv = "SQLTEL_BENCH_COLLECTOR_CHILD"

// collectorProfileEnv, when set, names the file the collector process writes
// its CPU profile to, to find where a slow delivery goes.
const collectorProfileEnv = "SQLTEL_BENCH_COLLECTOR_CPUPROFILE"

// Collector is the reference collector in a child process, on a loopback
// port, storing into a SQLite file in a temporary directory, with telemetry
// enabled for every host. It runs in a process of its own so that its work
// (decoding, storing) is not counted in the benchmarks' B/op and allocs/op;
// it still competes for the machine's cores, as a local collector would.
type Collector struct {
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// StartCollector re-executes the running binary as a collector: the binary
// must call ServeCollectorIfChild first thing (TestMain, main). Close stops
// it.
func StartCollector() (*Collector, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), collectorEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start collector: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("bench: collector did not start (%q, %v)", line, err)
	}
	return &Collector{URL: strings.TrimSpace(line), cmd: cmd, stdin: stdin}, nil
}

// Close stops the collector process and waits for it.
func (c *Collector) Close() error {
	c.stdin.Close()
	return c.cmd.Wait()
}

// ServeCollectorIfChild does nothing in a process that StartCollector did
// not start. In one that it did, it serves the collector, prints its URL on
// stdout, and exits when stdin is closed (the parent's Close, or its death).
func ServeCollectorIfChild() {
	if os.Getenv(collectorEnv) == "" {
		return
	}
	if err := serveCollector(); err != nil {
		fmt.Fprintln(os.Stderr, "bench collector:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// collectorStoreEnv chooses what the collector process does with events:
// "sink" (the default) answers the flag and reads and discards every batch,
// so the benchmark measures what sqltel costs the client; "store" runs the
// reference collector with its SQLite store, whose inserts compete for the
// machine's two cores and are the server's cost, not the client's.
const collectorStoreEnv = "SQLTEL_BENCH_COLLECTOR"

func serveCollector() error {
	if os.Getenv(collectorStoreEnv) != "store" {
		return serveSink()
	}
	dir, err := os.MkdirTemp("", "sqltel-bench-collector-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, dialect, err := collector.Open("file:" + filepath.Join(dir, "c.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := collector.New(collector.Config{DB: db, Dialect: dialect, Enable: []string{"*"}})
	if err != nil {
		return err
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if path := os.Getenv(collectorProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// serveSink is a loopback collector that says yes to every flag request and
// accepts every batch unread beyond draining it.
func serveSink() error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/flags", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"flags":{"telemetry_enabled":true},"ttl_seconds":900}`)
	})
	// Bodies are drained through a 1 MiB buffer, pooled across requests,
	// rather than io.Discard's 8 KiB reads (io.CopyBuffer to io.Discard
	// would ignore the buffer: Discard is a ReaderFrom): a default batch is
	// about 300 KB, and every read is a system call on the machine's other
	// core, which the query goroutine's core feels.
	var pool sync.Pool
	mux.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		buf, _ := pool.Get().(*[]byte)
		if buf == nil {
			b := make([]byte, 1<<20)
			buf = &b
		}
		for {
			if _, err := r.Body.Read(*buf); err != nil {
				break
			}
		}
		pool.Put(buf)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// Median returns the median of xs (0 for none), for the tables' figures.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
