// Package telemetry exports the events of sqltel's wrapped connections to a
// collector over HTTP.
//
// # Pieces
//
// A connection that records telemetry holds a reference to an [Exporter],
// obtained with [Registry.Acquire] (usually on [Default]) and given back with
// [Exporter.Release]. There is one exporter per (endpoint, token) in a
// registry, shared by every connector and host that uses the pair. The
// first Acquire starts it; the last Release sends what is buffered and stops
// it within Config.ShutdownTimeout.
//
// [Exporter.Record] is the only call on the query path: it copies the
// [Event] into a bounded ring buffer under a mutex, without waiting for the
// network and without allocating (but for the exceptions Record names).
// When the buffer is full the oldest event is overwritten and counted
// (Stats.Dropped.Overflow).
//
// One goroutine per exporter owns every request, so requests never overlap
// (the shape of OpenTelemetry's batch processor). It sends a batch when
// Config.BatchSize events are buffered or when Config.FlushInterval has
// passed since the previous request completed (the first interval is
// jittered), and never sooner than the collector's next_request_wait_ms. A
// stop request has priority over a Flush, and a Flush over a regular send.
//
// # Accounting
//
// Every recorded event ends in exactly one counter of [Stats]: Delivered,
// one of the Dropped causes, or Pending while it is buffered or being sent.
// A snapshot always satisfies
//
//	Recorded == Delivered + DroppedTotal() + Pending
//
// # Wire protocol
//
// Each request is POST {Endpoint}/v1/events with the headers
//
//	Content-Type: application/json (FormatNDJSON: application/x-ndjson)
//	Content-Encoding: gzip          when the body is above 1 KiB (Config.Compression:
//	                                by default, unless the endpoint is on loopback)
//	User-Agent: sqltel-go/<version>
//	Sqltel-Request-Id: <32 hex>     the same for every attempt of a request
//	Sqltel-Attempt: <n>             1 for the first attempt
//	Authorization: Bearer <token>   when Config.Token is set
//
// and, with FormatJSON, the body
//
//	{"request_id":"<32 hex>","created_at":"<RFC 3339, UTC, ns>",
//	 "client":{"name":"sqltel-go","version":"0.1.0","session_id":"<32 hex>",
//	           "os":"linux","arch":"amd64","go_version":"go1.26.0"},
//	 "events":[{"id":"<32 hex>","type":"statement","time":"<RFC 3339, UTC, ns>",
//	            "host":"...","db_system":"postgresql","conn_id":"<16 hex>",
//	            "op":"query","stmt_kind":"SELECT","fingerprint":"<16 hex>",
//	            "latency_us":1234,"total_us":2345,"rows":10,"error":"deadline","in_tx":false}]}
//
// latency_us is the time until the driver answered (for a query, its first
// result); total_us, for a query, the time until its rows were closed.
// stmt_kind, fingerprint, total_us, rows, error and sql are omitted when
// empty, 0, 0, -1, empty and empty. sql, the statement with every literal
// replaced by '?' and its comments removed, is there only when the program
// opted in (DSN telemetry_sql=normalized, connector.WithStatementText).
// created_at and the body are identical across the attempts of a
// request. The session id is random per registry (so per process for
// Default) and rotated every 24 hours. An event gets its 128-bit id (a
// random half drawn once per exporter and a counter) when the exporter takes
// it out of the buffer into a batch, and keeps it across every retry, so that
// the collector can de-duplicate by event id. Field order within an event is
// not part of the format.
//
// With FormatNDJSON the body has one line per event: the event object above
// with "request_id", "created_at" and "client" folded into it.
//
// A 2xx answer may carry {"results":{"<event id>":"ok"|"warning"|"retry"|"drop"},
// "next_request_wait_ms":N}. An absent id (or an unknown value) means ok.
// "retry" events go back to the front of the queue and leave in a later
// request, with a new request id but the same event ids; an event answered
// "retry" 4 times is dropped (RetriesExhausted). "drop" events are counted
// as Rejected. N is honoured up to one hour. A 2xx body that is not JSON
// counts the events as delivered and MalformedResponses; they are not sent
// again. With FormatNDJSON results are ignored: a 2xx delivers every event.
// Response bodies are read up to 1 MiB.
//
// 408, 429, 500, 502, 503, 504, timeouts (10 s per request) and transport
// errors resend the same request (same id, same body, Sqltel-Attempt + 1)
// after an exponential backoff (1 s doubling, capped at 30 s, jittered to
// [d/2, d]) or Retry-After (seconds or HTTP-date, clamped to 30 s) when
// longer, for at most 4 attempts; then its events are dropped
// (RetriesExhausted). 413 splits the batch into two new requests; a single
// event refused with 413 is dropped (TooLarge). Any other status is
// dropped without retry (Rejected), as is a redirect to another host or
// from https to http. After 5 consecutive failed attempts the exporter
// pauses for 60 s (or Retry-After, up to 10 min), buffering, then sends a
// single probe; a failed probe pauses again.
package telemetry
