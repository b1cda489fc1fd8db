// Package flags answers one question for the rest of sqltel: has the
// telemetry service switched telemetry on for this database host? It is the
// server-side kill switch behind the DSN's telemetry=on, so the answer is
// "disabled" whenever the service has not positively said otherwise.
//
// The pieces meet like this. The connector calls Decide with the DSN mode and
// the environment; only when the user asked for telemetry=on does the
// server-side flag matter. It then holds one *Context per recording
// connection, taken with Cache.Acquire and given back with Context.Release
// (at once when the answer is no), and asks Context.Enabled once, when the
// connection opens. Enabled answers from the Cache:
//
//   - a fresh value is returned at once, without I/O;
//   - a stale value is returned at once, and a single background refresh is
//     started (stale-while-revalidate);
//   - with no value yet, the caller waits for the one in-flight fetch for its
//     key (golang.org/x/sync/singleflight), never longer than the fetch
//     timeout or its own context; if that fails the answer is "disabled".
//
// A value, "enabled" or "disabled" alike, is kept for its TTL (15 minutes
// unless the service says otherwise) even after the last Context for the host
// is released, so connect/close churn costs no requests. A failed fetch never
// turns into a request storm: the key backs off (30s, doubling, capped at the
// TTL) and callers meanwhile get the last known value, or "disabled".
//
// A Fetcher asks the service; HTTPFetcher is the real one and WithFetcher
// replaces it in tests.
package flags
