package collector

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestStore runs the storage and summary behaviour against every dialect.
func TestStore(t *testing.T) {
	for _, d := range dialects(t) {
		t.Run(d.name, func(t *testing.T) {
			t.Run("ResentBatchStoredOnce", func(t *testing.T) { testResentBatch(t, d) })
			t.Run("Percentiles", func(t *testing.T) { testPercentiles(t, d) })
			t.Run("StoredFields", func(t *testing.T) { testStoredFields(t, d) })
			t.Run("Filters", func(t *testing.T) { testFilters(t, d) })
			t.Run("ConcurrentBatches", func(t *testing.T) { testConcurrentBatches(t, d) })
			t.Run("LargeBatch", func(t *testing.T) { testLargeBatch(t, d) })
			t.Run("SchemaIdempotent", func(t *testing.T) { testSchemaIdempotent(t, d) })
			t.Run("StorageErrorIs503", func(t *testing.T) { testStorageError(t, d) })
			t.Run("RepeatedIDOneResult", func(t *testing.T) { testRepeatedIDOneResult(t, d) })
			t.Run("SinceOutsideUnixNanoRange", func(t *testing.T) { testSinceOutsideUnixNanoRange(t, d) })
			t.Run("HostFilterNotStorable", func(t *testing.T) { testHostFilterNotStorable(t, d) })
			t.Run("RowsTotalSaturates", func(t *testing.T) { testRowsTotalSaturates(t, d) })
		})
	}
}

func testResentBatch(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	var events []map[string]any
	for i := range 10 {
		events = append(events, ev(i, "db.example.com", "00000000000000aa", "query", int64(i+1)))
	}
	// The same event twice in one batch is stored once too.
	events = append(events, events[0])
	body := batchJSON(t, events...)

	first := postEvents(t, ts, body)
	want := eventsResponse{Results: map[string]string{}, Accepted: 11, Stored: 10}
	if diff := cmp.Diff(want, first, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("first POST (-want +got):\n%s", diff)
	}
	// The client lost the answer and resends the batch: every event is ok,
	// nothing is new.
	second := postEvents(t, ts, body)
	want.Stored = 0
	if diff := cmp.Diff(want, second, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("resent POST (-want +got):\n%s", diff)
	}

	rows, err := s.Summary(context.Background(), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Count != 10 {
		t.Fatalf("Summary after resend = %+v, want one row with count 10", rows)
	}
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM " + tableName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Errorf("stored %d events, want 10", n)
	}
}

func testPercentiles(t *testing.T, d dialect) {
	_, ts := newServer(t, d, Config{})
	var events []map[string]any
	// Latencies 1..100 in a scrambled order, two of them failed.
	for i := range 100 {
		lat := int64((i*37)%100 + 1)
		e := ev(i, "db.example.com", "00000000000000aa", "query", lat)
		e["rows"] = 2
		switch i {
		case 3:
			e["error"] = "deadline"
		case 4:
			e["error"] = "syntax"
			delete(e, "rows") // unknown adds nothing to rows_total
		}
		events = append(events, e)
	}
	events = append(events,
		ev(100, "db.example.com", "", "connect", 1000),
		ev(101, "db.example.com", "", "commit", 3),
		ev(102, "other.example.com", "00000000000000bb", "exec", 7),
	)
	events[len(events)-1]["stmt_kind"] = "INSERT"
	postEvents(t, ts, batchJSON(t, events...))

	got := getReport(t, ts, "")
	want := Report{
		Rows: []Row{
			{
				Host: "db.example.com", Fingerprint: "00000000000000aa", StmtKind: "SELECT",
				Count: 100, Ops: map[string]int64{"query": 100},
				Errors: map[string]int64{"deadline": 1, "syntax": 1},
				P50US:  50, P95US: 95, P99US: 99, MaxUS: 100, RowsTotal: 198,
				Histogram: []Bucket{
					{1, 2, 1}, {2, 4, 2}, {4, 8, 4}, {8, 16, 8}, {16, 32, 16}, {32, 64, 32}, {64, 128, 37},
				},
			},
			{
				Host: "db.example.com", Count: 2, Ops: map[string]int64{"connect": 1, "commit": 1},
				Errors: map[string]int64{}, P50US: 3, P95US: 1000, P99US: 1000, MaxUS: 1000,
				Histogram: []Bucket{{2, 4, 1}, {4, 8, 0}, {8, 16, 0}, {16, 32, 0}, {32, 64, 0}, {64, 128, 0},
					{128, 256, 0}, {256, 512, 0}, {512, 1024, 1}},
			},
			{
				Host: "other.example.com", Fingerprint: "00000000000000bb", StmtKind: "INSERT",
				Count: 1, Ops: map[string]int64{"exec": 1}, Errors: map[string]int64{},
				P50US: 7, P95US: 7, P99US: 7, MaxUS: 7, RowsTotal: 1,
				Histogram: []Bucket{{4, 8, 1}},
			},
		},
		Ops: map[string]map[string]int64{
			"db.example.com":    {"query": 100, "connect": 1, "commit": 1},
			"other.example.com": {"exec": 1},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /v1/summary (-want +got):\n%s", diff)
	}
}

// testStoredFields reads a stored event back column by column: exactly the
// protocol's fields, normalised.
func testStoredFields(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	e := ev(1, "db.example.com", "ABCDEF0123456789", "stmt_query", 42)
	e["id"] = "ABCDEF0123456789ABCDEF0123456789"
	e["time"] = "2026-03-01T13:00:00.123456789+01:00"
	e["in_tx"] = true
	e["error"] = "constraint"
	e["rows"] = 0
	e["sql"] = "SELECT secret FROM t" // unknown: ignored, never stored
	noRows := ev(2, "db.example.com", "", "ping", 5)
	postEvents(t, ts, batchJSON(t, e, noRows))

	type stored struct {
		ID, Host, DBSystem, ConnID, Op, Kind, Fingerprint, Err string
		TimeNS, Latency                                        int64
		Rows                                                   *int64
		InTx                                                   bool
	}
	rows, err := s.db.Query(`SELECT id, host, db_system, conn_id, op, stmt_kind, fingerprint, err_category,
		time_ns, latency_us, row_count, in_tx FROM ` + tableName + ` ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []stored
	for rows.Next() {
		var r stored
		if err := rows.Scan(&r.ID, &r.Host, &r.DBSystem, &r.ConnID, &r.Op, &r.Kind, &r.Fingerprint, &r.Err,
			&r.TimeNS, &r.Latency, &r.Rows, &r.InTx); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	want := []stored{
		{
			ID: "00000000000000000000000000000002", Host: "db.example.com", DBSystem: "postgresql",
			ConnID: "0000000000000003", Op: "ping",
			TimeNS: baseTime.Add(2 * time.Second).UnixNano(), Latency: 5,
		},
		{
			ID: "abcdef0123456789abcdef0123456789", Host: "db.example.com", DBSystem: "postgresql",
			ConnID: "0000000000000002", Op: "stmt_query", Kind: "SELECT", Fingerprint: "abcdef0123456789",
			Err: "constraint", TimeNS: baseTime.Add(123456789).UnixNano(), Latency: 42, Rows: &zero, InTx: true,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored rows (-want +got):\n%s", diff)
	}
}

func testFilters(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	var events []map[string]any
	for i := range 6 {
		host := "a.example.com"
		if i%2 == 1 {
			host = "b.example.com"
		}
		events = append(events, ev(i, host, "00000000000000aa", "query", 10))
	}
	postEvents(t, ts, batchJSON(t, events...))

	count := func(rows []Row) (n int64) {
		for _, r := range rows {
			n += r.Count
		}
		return n
	}
	tests := []struct {
		host  string
		since time.Time
		want  int64
	}{
		{"", time.Time{}, 6},
		{"a.example.com", time.Time{}, 3},
		{"b.example.com", time.Time{}, 3},
		{"nobody.example.com", time.Time{}, 0},
		{"", baseTime.Add(2 * time.Second), 4}, // inclusive lower bound
		{"a.example.com", baseTime.Add(3 * time.Second), 1},
		{"", baseTime.Add(time.Hour), 0},
	}
	for _, tt := range tests {
		rows, err := s.Summary(context.Background(), tt.host, tt.since)
		if err != nil {
			t.Fatal(err)
		}
		if got := count(rows); got != tt.want {
			t.Errorf("Summary(%q, %v) counts %d events, want %d", tt.host, tt.since, got, tt.want)
		}
	}
	// The same through HTTP, with since as RFC 3339 in another zone.
	since := baseTime.Add(2 * time.Second).In(time.FixedZone("X", 3600)).Format(time.RFC3339)
	r := getReport(t, ts, "host=a.example.com&since="+url.QueryEscape(since))
	if got := count(r.Rows); got != 2 {
		t.Errorf("GET /v1/summary with host and since counts %d events, want 2", got)
	}
	if diff := cmp.Diff(map[string]map[string]int64{"a.example.com": {"query": 2}}, r.Ops); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
	if r := getReport(t, ts, "since=1h"); len(r.Rows) != 0 { // events are in March 2026
		t.Errorf("since=1h: got %d rows, want 0", len(r.Rows))
	}
}

// testConcurrentBatches posts overlapping batches from several goroutines:
// no batch may fail (SQLite must wait for its lock rather than answer
// SQLITE_BUSY) and every event is stored exactly once.
func testConcurrentBatches(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	const workers, batches, perBatch = 6, 5, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				var events []map[string]any
				for i := range perBatch {
					// Workers w and w+1 share half their ids.
					n := (w*batches+b)*perBatch/2 + i
					events = append(events, ev(n, "db.example.com", "00000000000000aa", "exec", 1))
				}
				body := batchJSON(t, events...)
				res, err := http.Post(ts.URL+"/v1/events", "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("worker %d batch %d: status %d", w, b, res.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rows, err := s.Summary(context.Background(), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Ids span 0 .. ((workers*batches-1)*perBatch/2 + perBatch-1).
	want := int64((workers*batches-1)*perBatch/2 + perBatch)
	if len(rows) != 1 || rows[0].Count != want {
		t.Errorf("after concurrent batches: %+v, want one row with count %d", rows, want)
	}
}

// testLargeBatch needs more than one INSERT statement.
func testLargeBatch(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	n := insertChunk*2 + 7
	events := make([]map[string]any, n)
	for i := range events {
		events[i] = ev(i, "db.example.com", "00000000000000aa", "exec", int64(i))
	}
	if got := postEvents(t, ts, batchJSON(t, events...)); got.Stored != int64(n) {
		t.Errorf("stored %d, want %d", got.Stored, n)
	}
	rows, err := s.Summary(context.Background(), "db.example.com", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Count != int64(n) {
		t.Errorf("Summary = %+v, want count %d", rows, n)
	}
}

func testSchemaIdempotent(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	postEvents(t, ts, batchJSON(t, ev(1, "h", "00000000000000aa", "query", 1)))
	// A restart on the same database keeps the data.
	again, err := New(Config{DB: s.db, Dialect: s.dialect})
	if err != nil {
		t.Fatalf("second New on the same database: %v", err)
	}
	rows, err := again.Summary(context.Background(), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Errorf("after second New: %d rows, want 1", len(rows))
	}
}

func testStorageError(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	if _, err := s.db.Exec("DROP TABLE " + tableName); err != nil {
		t.Fatal(err)
	}
	res := do(t, http.MethodPost, ts.URL+"/v1/events",
		bytes.NewReader(batchJSON(t, ev(1, "h", "", "ping", 1))), jsonHeader)
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "1" {
		t.Errorf("POST with a broken store: status %d, Retry-After %q; want 503, 1", res.status, res.header.Get("Retry-After"))
	}
	// Invalid events only: nothing to store, so no storage error.
	bad := ev(2, "h", "", "ping", -1)
	if got := postEvents(t, ts, batchJSON(t, bad)); got.Results[bad["id"].(string)] != resultDrop {
		t.Errorf("results = %v, want the event dropped", got.Results)
	}
}

// testRepeatedIDOneResult checks that every copy of an id answers as the
// copy that was stored: a "drop" would make the client count as rejected an
// event the collector holds.
func testRepeatedIDOneResult(t *testing.T, d dialect) {
	good := ev(1, "h", "", "ping", 1)
	bad := ev(1, "h", "", "ping", 1)
	bad["op"] = "bogus"
	badUpper := ev(1, "h", "", "ping", 1)
	badUpper["id"] = strings.ToUpper(fmt.Sprintf("%032x", 0xab1))
	badUpper["op"] = "bogus"
	goodLower := ev(0xab1, "h", "", "ping", 1)
	warn := ev(2, "h", "", "ping", 1)
	warn["error"] = "gremlins"
	badWarn := ev(2, "h", "", "ping", -1)
	alsoBad := ev(3, "h", "", "ping", -1)
	tests := []struct {
		name   string
		events []map[string]any
		want   map[string]string
		stored int64
	}{
		{"valid then invalid", []map[string]any{good, bad}, map[string]string{}, 1},
		{"invalid then valid", []map[string]any{bad, good}, map[string]string{}, 1},
		{"invalid in upper case", []map[string]any{badUpper, goodLower}, map[string]string{}, 1},
		{"invalid then warning", []map[string]any{badWarn, warn}, map[string]string{id(warn): resultWarning}, 1},
		{"both invalid", []map[string]any{alsoBad, alsoBad}, map[string]string{id(alsoBad): resultDrop}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := newServer(t, d, Config{})
			got := postEvents(t, ts, batchJSON(t, tt.events...))
			if diff := cmp.Diff(tt.want, got.Results, cmpopts.EquateEmpty()); diff != "" || got.Stored != tt.stored {
				t.Errorf("stored %d, want %d; results (-want +got):\n%s", got.Stored, tt.stored, diff)
			}
		})
	}
}

// testSinceOutsideUnixNanoRange checks that a since outside the times Unix
// nanoseconds represent does not wrap around.
func testSinceOutsideUnixNanoRange(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	postEvents(t, ts, batchJSON(t, ev(1, "h", "", "ping", 1))) // in 2026
	for _, tt := range []struct {
		since string
		want  int
	}{
		{"1600-01-01T00:00:00Z", 1},
		{"0001-01-01T00:00:01Z", 1},
		{"3000-01-01T00:00:00Z", 0},
		{"9999-12-31T23:59:59Z", 0},
	} {
		if got := len(getReport(t, ts, "since="+tt.since).Rows); got != tt.want {
			t.Errorf("since=%s: %d rows, want %d", tt.since, got, tt.want)
		}
	}
	if rows, err := s.Summary(context.Background(), "", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || len(rows) != 1 {
		t.Errorf("Summary since 1600 = %d rows, %v; want 1", len(rows), err)
	}
}

// testHostFilterNotStorable checks that a host filter no stored host could
// match is refused by the HTTP endpoints and matches nothing in Report, on
// every dialect: PostgreSQL refuses invalid UTF-8 and NUL in a parameter.
func testHostFilterNotStorable(t *testing.T, d dialect) {
	s, ts := newServer(t, d, Config{})
	postEvents(t, ts, batchJSON(t, ev(1, "h", "", "ping", 1)))
	for _, host := range []string{"%ff", "a%00b", "a%0Ab", strings.Repeat("h", maxHostLen+1)} {
		for _, path := range []string{"/v1/summary?host=", "/?host="} {
			res := do(t, http.MethodGet, ts.URL+path+host, nil, nil)
			if res.status != http.StatusBadRequest || !bytes.Contains(res.body, []byte("host must be")) {
				t.Errorf("GET %s%s: status %d, want 400 naming host", path, truncate(host, 16), res.status)
			}
		}
		raw, _ := url.QueryUnescape(host)
		if r, err := s.Report(context.Background(), raw, time.Time{}); err != nil || len(r.Rows) != 0 {
			t.Errorf("Report(%q) = %v, %v; want no rows", truncate(raw, 16), r, err)
		}
	}
}

// testRowsTotalSaturates checks that rows_total stops at MaxInt64 instead of
// wrapping: a client may report any non-negative row count.
func testRowsTotalSaturates(t *testing.T, d dialect) {
	_, ts := newServer(t, d, Config{})
	a := ev(1, "h", "00000000000000aa", "query", 1)
	b := ev(2, "h", "00000000000000aa", "query", 1)
	a["rows"] = int64(math.MaxInt64)
	b["rows"] = int64(math.MaxInt64)
	if got := postEvents(t, ts, batchJSON(t, a, b)); got.Stored != 2 {
		t.Fatalf("stored %d, want 2 (results %v)", got.Stored, got.Results)
	}
	r := getReport(t, ts, "")
	if len(r.Rows) != 1 || r.Rows[0].RowsTotal != math.MaxInt64 {
		t.Errorf("rows = %+v, want one with rows_total %d", r.Rows, int64(math.MaxInt64))
	}
}
