package collector

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name   string
		enable []string
		ttl    time.Duration
		query  string
		status int
		want   string
	}{
		{"listed", []string{"localhost", "db.example.com"}, 0, "host=db.example.com&client=sqltel-go&version=0.1.0",
			200, `{"flags":{"telemetry_enabled":true},"ttl_seconds":900}`},
		{"listed ignoring case", []string{" DB.example.com "}, 0, "host=db.EXAMPLE.com",
			200, `{"flags":{"telemetry_enabled":true},"ttl_seconds":900}`},
		{"not listed", []string{"localhost"}, 0, "host=db.example.com",
			200, `{"flags":{"telemetry_enabled":false},"ttl_seconds":900}`},
		{"star", []string{"*"}, 0, "host=anything.example.com",
			200, `{"flags":{"telemetry_enabled":true},"ttl_seconds":900}`},
		{"none", []string{}, 0, "host=localhost",
			200, `{"flags":{"telemetry_enabled":false},"ttl_seconds":900}`},
		{"custom ttl", []string{"*"}, time.Minute, "host=localhost",
			200, `{"flags":{"telemetry_enabled":true},"ttl_seconds":60}`},
		{"missing host", []string{"*"}, 0, "client=sqltel-go",
			400, `{"error":"missing host parameter"}`},
		{"empty host", []string{"*"}, 0, "host=",
			400, `{"error":"missing host parameter"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := newSQLiteServer(t, Config{Enable: tt.enable, FlagTTL: tt.ttl})
			res := do(t, http.MethodGet, ts.URL+"/v1/flags?"+tt.query, nil, nil)
			if res.status != tt.status {
				t.Errorf("status = %d, want %d", res.status, tt.status)
			}
			if got := strings.TrimSpace(string(res.body)); got != tt.want {
				t.Errorf("body = %s, want %s", got, tt.want)
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

// TestEventValidation checks the per-event result of each kind of invalid,
// and each kind of normalised, event.
func TestEventValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(e map[string]any)
		key    string // results key; "" means the event's id
		want   string // "" means ok, absent from results
	}{
		{"valid", func(e map[string]any) {}, "", ""},
		{"no fingerprint, kind or rows", func(e map[string]any) {
			delete(e, "fingerprint")
			delete(e, "stmt_kind")
			delete(e, "rows")
		}, "", ""},
		{"missing id", func(e map[string]any) { delete(e, "id") }, "#0", resultDrop},
		{"short id", func(e map[string]any) { e["id"] = "abc" }, "abc", resultDrop},
		{"non-hex id", func(e map[string]any) { e["id"] = strings.Repeat("g", 32) }, strings.Repeat("g", 32), resultDrop},
		{"unknown op", func(e map[string]any) { e["op"] = "vacuum" }, "", resultDrop},
		{"missing op", func(e map[string]any) { delete(e, "op") }, "", resultDrop},
		{"negative latency", func(e map[string]any) { e["latency_us"] = -1 }, "", resultDrop},
		{"missing latency", func(e map[string]any) { delete(e, "latency_us") }, "", resultDrop},
		{"fractional latency", func(e map[string]any) { e["latency_us"] = 1.5 }, "", resultDrop},
		{"latency as string", func(e map[string]any) { e["latency_us"] = "12" }, "", resultDrop},
		{"unknown type", func(e map[string]any) { e["type"] = "span" }, "", resultDrop},
		{"bad time", func(e map[string]any) { e["time"] = "yesterday" }, "", resultDrop},
		{"missing host", func(e map[string]any) { delete(e, "host") }, "", resultDrop},
		{"host with newline", func(e map[string]any) { e["host"] = "db\nexample" }, "", resultDrop},
		{"host too long", func(e map[string]any) { e["host"] = strings.Repeat("h", 256) }, "", resultDrop},
		{"host with space", func(e map[string]any) { e["host"] = "my host" }, "", ""},
		{"bad conn_id", func(e map[string]any) { e["conn_id"] = "1" }, "", resultDrop},
		{"fingerprint is SQL", func(e map[string]any) { e["fingerprint"] = "SELECT 1 FROM t" }, "", resultDrop},
		{"unknown stmt_kind", func(e map[string]any) { e["stmt_kind"] = "MERGE" }, "", resultWarning},
		{"unknown error", func(e map[string]any) { e["error"] = "disk_full" }, "", resultWarning},
		{"negative rows", func(e map[string]any) { e["rows"] = -1 }, "", resultWarning},
		{"odd db_system", func(e map[string]any) { e["db_system"] = "my sql!" }, "", resultWarning},
		{"unknown field", func(e map[string]any) { e["query"] = "SELECT 1" }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := newSQLiteServer(t, Config{})
			e := ev(0, "db.example.com", "00000000000000aa", "query", 10)
			tt.mutate(e)
			key := tt.key
			if key == "" {
				key = id(e)
			}
			got := postEvents(t, ts, batchJSON(t, e))
			if got.Results[key] != tt.want {
				t.Errorf("results = %v, details = %v; want %q for %q", got.Results, got.Details, tt.want, key)
			}
			if tt.want != "" && got.Details[key] == "" {
				t.Errorf("no details for %q: %v", key, got.Details)
			}
			wantStored := int64(1)
			if tt.want == resultDrop {
				wantStored = 0
			}
			if got.Stored != wantStored {
				t.Errorf("stored = %d, want %d", got.Stored, wantStored)
			}
		})
	}
}

// TestMixedBatch checks that a dropped event does not affect the others and
// that only non-ok events are listed.
func TestMixedBatch(t *testing.T) {
	_, ts := newSQLiteServer(t, Config{NextRequestWait: 1500 * time.Millisecond})
	good := ev(1, "h", "00000000000000aa", "query", 5)
	bad := ev(2, "h", "00000000000000aa", "explode", 5)
	warn := ev(3, "h", "00000000000000aa", "query", 5)
	warn["error"] = "gremlins"
	got := postEvents(t, ts, batchJSON(t, good, bad, warn))
	got.Details = nil
	want := eventsResponse{
		Results:           map[string]string{id(bad): resultDrop, id(warn): resultWarning},
		NextRequestWaitMS: 1500,
		Accepted:          2,
		Stored:            2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func id(e map[string]any) string { return e["id"].(string) }

func TestEventsBody(t *testing.T) {
	const maxBody = 64 << 10
	valid := func(t *testing.T) []byte { return batchJSON(t, ev(1, "h", "00000000000000aa", "query", 5)) }
	ndjson := func(t *testing.T) []byte {
		var buf bytes.Buffer
		for i := range 3 {
			b, _ := json.Marshal(ev(i, "h", "00000000000000aa", "query", 5))
			buf.Write(b)
			buf.WriteString("\r\n\n")
		}
		return buf.Bytes()
	}
	big := func(t *testing.T) []byte { // valid JSON, just too large
		return batchJSON(t, map[string]any{"padding": strings.Repeat("x", maxBody)})
	}
	tests := []struct {
		name     string
		method   string
		body     func(t *testing.T) []byte
		gzip     bool
		header   map[string]string
		chunked  bool // hide the length so that only the reader limit applies
		status   int
		stored   int64
		errorMsg string // substring of the JSON error
	}{
		{name: "json", body: valid, status: 200, stored: 1},
		{name: "json with charset", body: valid, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}, status: 200, stored: 1},
		{name: "gzip", body: valid, gzip: true, status: 200, stored: 1},
		{name: "ndjson", body: ndjson, header: map[string]string{"Content-Type": "application/x-ndjson"}, status: 200, stored: 3},
		{name: "gzip ndjson", body: ndjson, gzip: true, header: map[string]string{"Content-Type": "application/x-ndjson"}, status: 200, stored: 3},
		{name: "empty events", body: func(t *testing.T) []byte { return []byte(`{"events":[]}`) }, status: 200},
		{name: "oversize", body: big, status: 413, errorMsg: "larger than"},
		{name: "oversize chunked", body: big, chunked: true, status: 413, errorMsg: "larger than"},
		{name: "gzip bomb", body: func(t *testing.T) []byte {
			return []byte(`{"events":[],"x":"` + strings.Repeat("0", 16*maxBody) + `"}`)
		}, gzip: true, status: 413, errorMsg: "decompressed body larger than"},
		{name: "gzip bomb chunked", body: func(t *testing.T) []byte { return make([]byte, 16*maxBody) },
			gzip: true, chunked: true, status: 413},
		{name: "malformed json", body: func(t *testing.T) []byte { return []byte(`{"events":[{"id":`) }, status: 400, errorMsg: "malformed body"},
		{name: "not an object", body: func(t *testing.T) []byte { return []byte(`[1,2]`) }, status: 400, errorMsg: "malformed body"},
		{name: "trailing data", body: func(t *testing.T) []byte { return []byte(`{"events":[]} {}`) }, status: 400, errorMsg: "after the batch"},
		{name: "missing events", body: func(t *testing.T) []byte { return []byte(`{"request_id":"r"}`) }, status: 400, errorMsg: "events"},
		{name: "events not array", body: func(t *testing.T) []byte { return []byte(`{"events":{}}`) }, status: 400},
		{name: "empty body", body: func(t *testing.T) []byte { return nil }, status: 400},
		{name: "malformed ndjson", body: func(t *testing.T) []byte { return []byte("{}\n{oops\n") },
			header: map[string]string{"Content-Type": "application/x-ndjson"}, status: 400, errorMsg: "line 2"},
		{name: "bad gzip", body: valid, header: map[string]string{"Content-Encoding": "gzip"}, status: 400, errorMsg: "gzip"},
		{name: "unknown encoding", body: valid, header: map[string]string{"Content-Encoding": "br"}, status: 415},
		{name: "wrong content type", body: valid, header: map[string]string{"Content-Type": "text/plain"}, status: 415},
		{name: "no content type", body: valid, header: map[string]string{"Content-Type": ""}, status: 415},
		{name: "GET", method: http.MethodGet, body: func(t *testing.T) []byte { return nil }, status: 405},
		{name: "PUT", method: http.MethodPut, body: valid, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := newSQLiteServer(t, Config{MaxBody: maxBody})
			body := tt.body(t)
			header := map[string]string{"Content-Type": "application/json", "User-Agent": "sqltel-go/0.1.0"}
			if tt.gzip {
				body = gzipBytes(t, body)
				header["Content-Encoding"] = "gzip"
			}
			for k, v := range tt.header {
				header[k] = v
			}
			var r io.Reader = bytes.NewReader(body)
			if tt.chunked {
				r = io.MultiReader(r) // not a *bytes.Reader: no Content-Length
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			res := do(t, method, ts.URL+"/v1/events", r, header)
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.status, res.body)
			}
			if tt.status == 405 {
				return
			}
			if !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type = %q, want JSON", res.header.Get("Content-Type"))
			}
			if tt.status != 200 {
				var e struct{ Error string }
				res.json(t, &e)
				if e.Error == "" || !strings.Contains(e.Error, tt.errorMsg) {
					t.Errorf("error = %q, want it to contain %q", e.Error, tt.errorMsg)
				}
				return
			}
			var er eventsResponse
			res.json(t, &er)
			if er.Stored != tt.stored || len(er.Results) != 0 {
				t.Errorf("stored = %d, results = %v; want %d, none", er.Stored, er.Results, tt.stored)
			}
		})
	}
}

// TestEventsBatchLimit checks that a body of many tiny events cannot make a
// large answer: above MaxBatchEvents the batch is refused with 413, which
// makes the client split it, and at the limit details stay bounded.
func TestEventsBatchLimit(t *testing.T) {
	const maxBody = 256 << 10
	_, ts := newSQLiteServer(t, Config{MaxBody: maxBody})
	zeros := func(n int) string { return strings.TrimSuffix(strings.Repeat("0,", n), ",") }
	post := func(t *testing.T, body []byte, contentType string) response {
		t.Helper()
		return do(t, http.MethodPost, ts.URL+"/v1/events", bytes.NewReader(gzipBytes(t, body)),
			map[string]string{"Content-Type": contentType, "Content-Encoding": "gzip"})
	}

	t.Run("json over the limit", func(t *testing.T) {
		// 2 bytes an event: a few hundred bytes gzipped, under MaxBody
		// decompressed, and each event would have cost a result and a detail.
		res := post(t, []byte(`{"events":[`+zeros(maxBody/2-20)+`]}`), "application/json")
		if res.status != http.StatusRequestEntityTooLarge || len(res.body) > 1024 {
			t.Errorf("status %d, answer %d bytes; want 413 and a short error", res.status, len(res.body))
		}
	})
	t.Run("ndjson over the limit", func(t *testing.T) {
		res := post(t, []byte(strings.Repeat("0\n", MaxBatchEvents+1)), "application/x-ndjson")
		if res.status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413; body %s", res.status, res.body)
		}
	})
	t.Run("ndjson blank lines do not count", func(t *testing.T) {
		res := post(t, []byte(strings.Repeat("0\n\n", MaxBatchEvents)), "application/x-ndjson")
		if res.status != http.StatusOK {
			t.Errorf("status %d, want 200; body %s", res.status, truncate(string(res.body), 200))
		}
	})
	t.Run("json at the limit", func(t *testing.T) {
		res := post(t, []byte(`{"events":[`+zeros(MaxBatchEvents)+`]}`), "application/json")
		if res.status != http.StatusOK {
			t.Fatalf("status %d, want 200; body %s", res.status, truncate(string(res.body), 200))
		}
		var er eventsResponse
		res.json(t, &er)
		if len(er.Results) != MaxBatchEvents || er.Results["#9999"] != resultDrop {
			t.Errorf("%d results, #9999 %q; want %d, drop", len(er.Results), er.Results["#9999"], MaxBatchEvents)
		}
		if len(er.Details) != maxDetails || er.DetailsOmitted != MaxBatchEvents-maxDetails {
			t.Errorf("%d details, %d omitted; want %d, %d", len(er.Details), er.DetailsOmitted,
				maxDetails, MaxBatchEvents-maxDetails)
		}
	})
}

// TestLongIDNotEchoed checks that an id too long to be one is not echoed as a
// results key, so long ids cannot make the answer larger than the request.
func TestLongIDNotEchoed(t *testing.T) {
	_, ts := newSQLiteServer(t, Config{})
	e := ev(0, "h", "", "ping", 1)
	e["id"] = strings.Repeat("<", maxKeyLen+1)
	got := postEvents(t, ts, batchJSON(t, e))
	if diff := cmp.Diff(map[string]string{"#0": resultDrop}, got.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestCountElements(t *testing.T) {
	tests := []struct {
		array string
		want  int
	}{
		{`[]`, 0},
		{"[ \n]", 0},
		{`[0]`, 1},
		{`[[]]`, 1},
		{`[0,"a,b",{"c":[1,2]}]`, 3},
		{`["\"],[" , [[1],{"d":","}]]`, 2},
	}
	for _, tt := range tests {
		if got := countElements([]byte(tt.array)); got != tt.want {
			t.Errorf("countElements(%s) = %d, want %d", tt.array, got, tt.want)
		}
	}
}

func TestToken(t *testing.T) {
	_, ts := newSQLiteServer(t, Config{Token: "s3cret"})
	body := batchJSON(t, ev(1, "h", "", "ping", 1))
	tests := []struct {
		auth   string
		status int
	}{
		{"", 401},
		{"Bearer wrong", 401},
		{"Basic czNjcmV0", 401},
		{"Bearer s3cret", 200},
		{"bearer s3cret", 200},
	}
	for _, tt := range tests {
		header := map[string]string{"Content-Type": "application/json"}
		if tt.auth != "" {
			header["Authorization"] = tt.auth
		}
		res := do(t, http.MethodPost, ts.URL+"/v1/events", bytes.NewReader(body), header)
		if res.status != tt.status {
			t.Errorf("Authorization %q: status %d, want %d", tt.auth, res.status, tt.status)
		}
		if res.status == 401 && res.header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: 401 without WWW-Authenticate", tt.auth)
		}
	}
	// Flags stay public: a client asks before it has anything to send.
	if res := do(t, http.MethodGet, ts.URL+"/v1/flags?host=h", nil, nil); res.status != 200 {
		t.Errorf("flags with a token configured: status %d", res.status)
	}
}

func TestSummaryParams(t *testing.T) {
	_, ts := newSQLiteServer(t, Config{})
	for _, q := range []string{"since=yesterday", "since=-1h"} {
		res := do(t, http.MethodGet, ts.URL+"/v1/summary?"+q, nil, nil)
		if res.status != 400 {
			t.Errorf("%s: status %d, want 400", q, res.status)
		}
	}
	res := do(t, http.MethodGet, ts.URL+"/v1/summary", nil, nil)
	if got := strings.TrimSpace(string(res.body)); got != `{"rows":[],"ops":{}}` {
		t.Errorf("empty summary = %s", got)
	}
	if res := do(t, http.MethodPost, ts.URL+"/v1/summary", nil, nil); res.status != 405 {
		t.Errorf("POST /v1/summary: status %d, want 405", res.status)
	}
}

func TestHealthz(t *testing.T) {
	s, ts := newSQLiteServer(t, Config{})
	if res := do(t, http.MethodGet, ts.URL+"/healthz", nil, nil); res.status != 200 {
		t.Errorf("status %d, want 200", res.status)
	}
	s.db.Close()
	if res := do(t, http.MethodGet, ts.URL+"/healthz", nil, nil); res.status != 503 {
		t.Errorf("with the database closed: status %d, want 503", res.status)
	}
}

func TestPercentile(t *testing.T) {
	seq := func(n int) []int64 {
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(i + 1)
		}
		return s
	}
	tests := []struct {
		sorted        []int64
		p50, p95, p99 int64
	}{
		{seq(100), 50, 95, 99},
		{seq(1), 1, 1, 1},
		{seq(2), 1, 2, 2},
		{seq(10), 5, 10, 10},
		{seq(20), 10, 19, 20},
		{seq(1000), 500, 950, 990},
		{[]int64{0, 0, 7}, 0, 7, 7},
	}
	for _, tt := range tests {
		got := [3]int64{percentile(tt.sorted, 50), percentile(tt.sorted, 95), percentile(tt.sorted, 99)}
		if want := [3]int64{tt.p50, tt.p95, tt.p99}; got != want {
			t.Errorf("n=%d: p50,p95,p99 = %v, want %v", len(tt.sorted), got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	db, _ := openSQLite(t)
	for _, cfg := range []Config{
		{},
		{DB: db},
		{DB: db, Dialect: "mysql"},
		{DB: db, Dialect: DialectSQLite, MaxBody: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestOpen(t *testing.T) {
	tests := []struct{ dsn, dialect string }{
		{"postgres://u@127.0.0.1:1/db", DialectPostgres},
		{"postgresql://u@127.0.0.1:1/db", DialectPostgres},
		{":memory:", DialectSQLite},
		{"file::memory:", DialectSQLite},
		{"file:" + t.TempDir() + "/a.db?_pragma=busy_timeout(1)", DialectSQLite},
		{t.TempDir() + "/b.db", DialectSQLite},
	}
	for _, tt := range tests {
		db, d, err := Open(tt.dsn)
		if err != nil {
			t.Errorf("Open(%q): %v", tt.dsn, err)
			continue
		}
		if d != tt.dialect {
			t.Errorf("Open(%q) dialect = %q, want %q", tt.dsn, d, tt.dialect)
		}
		if d == DialectSQLite {
			// The schema must be visible to the whole pool, which for an
			// in-memory database means it must be a single connection.
			s, err := New(Config{DB: db, Dialect: d})
			if err != nil {
				t.Errorf("New on %q: %v", tt.dsn, err)
			} else if _, err := s.Report(t.Context(), "", time.Time{}); err != nil {
				t.Errorf("Report on %q: %v", tt.dsn, err)
			}
		}
		db.Close()
	}
	if _, _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}
