package workload

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sqltel/sqltel/examples/collector/collector"
	"github.com/sqltel/sqltel/telemetry"
)

// Collector is a sqltel collector running in this process on a loopback
// port, with its events in a SQLite file.
type Collector struct {
	// URL is the collector's base URL, for the DSN's telemetry_endpoint.
	URL string
	// Server answers the flags and stores the events; its Report is the
	// summary.
	Server *collector.Server
	// Path is the SQLite file holding the sqltel_events table.
	Path string

	db   *sql.DB
	hs   *http.Server
	done chan error
}

// StartCollector starts a collector on 127.0.0.1 with its store in
// dir/collector.db, serving telemetry_enabled for the given host keys.
// Close stops it.
func StartCollector(dir string, enable ...string) (*Collector, error) {
	path := filepath.Join(dir, "collector.db")
	db, dialect, err := collector.Open("file:" + path)
	if err != nil {
		return nil, err
	}
	srv, err := collector.New(collector.Config{DB: db, Dialect: dialect, Enable: enable})
	if err != nil {
		db.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, err
	}
	c := &Collector{
		URL:    "http://" + ln.Addr().String(),
		Server: srv,
		Path:   path,
		db:     db,
		hs:     &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second},
		done:   make(chan error, 1),
	}
	go func() { c.done <- c.hs.Serve(ln) }()
	return c, nil
}

// TelemetryDSN returns dsn with the parameters that turn telemetry on and
// send it to c, flushing every 200 ms so that the demo need not wait.
func (c *Collector) TelemetryDSN(dsn string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "telemetry=on&telemetry_flush_interval=200ms&telemetry_endpoint=" + url.QueryEscape(c.URL)
}

// Close stops the HTTP server, waiting for requests in flight, and closes
// the store.
func (c *Collector) Close(ctx context.Context) error {
	err := c.hs.Shutdown(ctx)
	if serr := <-c.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, c.db.Close())
}

// PrintSummary writes the collector's report as an aligned table, one row
// per (host, statement kind, fingerprint), then the count of each op per
// host.
func PrintSummary(w io.Writer, r *collector.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tKIND\tFINGERPRINT\tCOUNT\tERRORS\tP50 µs\tP95 µs\tP99 µs\tROWS\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t\n",
			row.Host, cmp.Or(row.StmtKind, "-"), cmp.Or(row.Fingerprint, "-"), row.Count,
			formatCounts(row.Errors), row.P50US, row.P95US, row.P99US, row.RowsTotal)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, host := range slices.Sorted(maps.Keys(r.Ops)) {
		if _, err := fmt.Fprintf(w, "\nops for %s: %s\n", host, formatCounts(r.Ops[host])); err != nil {
			return err
		}
	}
	return nil
}

// PrintStats writes an exporter's counters on one line.
func PrintStats(w io.Writer, s telemetry.Stats) error {
	d := s.Dropped
	_, err := fmt.Fprintf(w, "\nexporter: recorded %d, delivered %d, pending %d, dropped %d "+
		"(overflow %d, rejected %d, retries exhausted %d, too large %d, shutdown %d, internal %d), requests %d\n",
		s.Recorded, s.Delivered, s.Pending, s.DroppedTotal(),
		d.Overflow, d.Rejected, d.RetriesExhausted, d.TooLarge, d.Shutdown, d.Internal, s.Requests)
	return err
}

// formatCounts renders {"b":2,"a":1} as "a=1 b=2", and an empty map as "-".
func formatCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// ReadEvents returns every column of every event in the collector store at
// path, as text: what a collector's operator could ever see. Tests use it
// to compare the store with Counts and to check that no SQL or value got in.
func ReadEvents(path string) ([]map[string]string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("SELECT * FROM sqltel_events")
	if err != nil {
		return nil, fmt.Errorf("workload: read events: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var events []map[string]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("workload: read events: %w", err)
		}
		ev := make(map[string]string, len(cols))
		for i, c := range cols {
			ev[c] = vals[i].String
		}
		events = append(events, ev)
	}
	return events, rows.Err()
}

// Tally counts events as Counts does, leaving out connect, ping and close.
func Tally(events []map[string]string) Counts {
	c := Counts{}
	for _, ev := range events {
		switch ev["op"] {
		case "connect", "ping", "close":
		default:
			c[Key{Kind: ev["stmt_kind"], Op: ev["op"], Err: ev["err_category"]}]++
		}
	}
	return c
}
