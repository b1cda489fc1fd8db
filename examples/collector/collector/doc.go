// Package collector is the reference telemetry collector for sqltel: it
// serves the flags that tell sqltel clients whether to send telemetry,
// stores the statement events they send in SQLite or PostgreSQL, and shows
// per-fingerprint latency summaries as JSON and as an HTML page.
//
// It is small on purpose: one table, one HTTP handler, exact percentiles
// computed in Go. The command in the parent directory runs it; tests and the
// quickstart run it in-process:
//
//	db, dialect, err := collector.Open("file:sqltel.db")
//	srv, err := collector.New(collector.Config{DB: db, Dialect: dialect, Enable: []string{"*"}})
//	http.ListenAndServe("127.0.0.1:4318", srv.Handler())
//
// # Endpoints
//
// GET /v1/flags?host=<host key>&client=sqltel-go&version=<v> answers
//
//	{"flags":{"telemetry_enabled":true},"ttl_seconds":900}
//
// Telemetry is enabled when the host key is in Config.Enable (ignoring case)
// or Enable contains "*". A missing host is a 400.
//
// POST /v1/events takes a batch as application/json
//
//	{"request_id":"…","created_at":"…","client":{…},"events":[{…},…]}
//
// or as application/x-ndjson, one event object per line and no envelope.
// The body may be gzip-compressed (Content-Encoding: gzip). It is limited to
// Config.MaxBody bytes both as sent and after decompression, so a gzip bomb
// costs at most a few times MaxBody of memory; above the limit the answer is
// 413. A batch of more than MaxBatchEvents (10 000) events is a 413 too,
// refused before its events are decoded; a sqltel client splits a batch
// refused with 413. An unparseable body is a 400 and another Content-Type or
// Content-Encoding a 415, each with a JSON {"error":"…"} body. When Config.Token is set the
// request needs "Authorization: Bearer <token>" (401 otherwise); only this
// endpoint is protected.
//
// Each event is validated on its own. An event with a missing or malformed
// id, a type other than "statement", a time that is not RFC 3339, an empty
// host or one over 255 bytes or with control characters, a conn_id or
// fingerprint that is not 16 hex digits, an unknown op, or a missing,
// negative or absurd (over a year) latency_us is not stored and gets "drop".
// An unknown stmt_kind or error category is stored as "OTHER" or "other", a
// db_system outside [a-z0-9._-] is stored as "" and negative rows as
// unknown; such events get "warning". Unknown fields are ignored, and nothing
// outside the event fields of the protocol is ever stored: no SQL text, no
// client metadata, not even the time of receipt.
//
// Valid events are stored in one transaction with INSERT … ON CONFLICT (id)
// DO NOTHING, so a batch resent after a lost response, or an event repeated
// within a batch, is stored once; such repeats still get "ok". Ids are
// compared ignoring case, and an id gets one result: when one copy of it in
// a batch is stored, every copy answers as that one, even a copy that alone
// would be dropped. If the store
// fails, nothing is stored and the answer is 503 with Retry-After: 1, so the
// client retries the whole batch. The collector therefore never sends
// "retry" for a single event. A successful answer is
//
//	{"results":{"<id>":"drop"},"details":{"<id>":"unknown op \"x\""},
//	 "next_request_wait_ms":0,"accepted":41,"stored":39}
//
// Results lists only the events that are not "ok", keyed by id as sent: a
// client must treat an id that is absent from results as "ok". An event
// without a usable id (none, not a string, or over 64 bytes) is keyed
// "#<index>", its position in the batch. Details says why, for people, for
// the first 100 entries of results; details_omitted, when present, counts
// the others. accepted counts the events that were not dropped and stored
// those that were new (the rest were already stored). next_request_wait_ms
// is Config.NextRequestWait.
//
// GET /v1/summary?host=<host key>&since=<time> aggregates the stored events
// of one host (empty: all hosts) whose event time is at or after since (an
// RFC 3339 time, a Go duration such as "1h" meaning that long ago, or empty
// for all time). A host that could not be stored (over 255 bytes, not UTF-8,
// or with control characters) is a 400; a since before 1678 selects every
// event and one after 2262 none. The answer is a Report:
//
//	{
//	  "rows": [
//	    {"host":"db.example.com","fingerprint":"9f3c0a1b2c3d4e5f","stmt_kind":"SELECT",
//	     "count":100,"ops":{"query":100},"errors":{"deadline":2},
//	     "p50_us":50,"p95_us":95,"p99_us":99,"max_us":100,"rows_total":4200,
//	     "histogram":[{"low_us":1,"high_us":2,"count":1},…]}
//	  ],
//	  "ops": {"db.example.com":{"connect":3,"query":100}}
//	}
//
// There is one row per (host, fingerprint, stmt_kind); operations without a
// statement (connect, ping, begin, commit…) have the empty fingerprint.
// Percentiles are nearest-rank over every stored latency of the row, so they
// are exact: for latencies 1..100 µs, p50 is 50, p95 is 95 and p99 is 99.
// errors maps error categories to counts and is {} when nothing failed.
// rows_total sums the events that reported a row count, stopping at
// 2^63-1 rather than overflow. histogram counts
// latencies in power-of-two buckets, [low_us, high_us), from the first to the
// last non-empty bucket. ops is the per-host count of events by op.
//
// GET / shows the same summary as an HTML page without external assets: a
// host filter form (form#filter), a table#summary with one tr.summary-row per
// row (data-fingerprint holds the fingerprint) and, in each, an
// svg.histogram whose rect.bar elements are the non-empty buckets on a
// logarithmic axis shared by all rows, then a table#ops of op counts per
// host. GET /healthz pings the database and answers 200 or 503.
//
// # Storage
//
// Events live in the table sqltel_events, created by New if it does not
// exist. The event time is stored as Unix nanoseconds (time_ns) so that the
// same SQL filters it on both dialects; rows is row_count (NULL when
// unknown) and error is err_category ("" for none).
package collector
