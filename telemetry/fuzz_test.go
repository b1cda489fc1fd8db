package telemetry

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseResponse feeds arbitrary 2xx bodies to the response parser: it
// never panics, calls only valid JSON (or an empty body) well formed, and
// never asks for a wait outside [0, maxNextRequestWait].
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		``, `  `, `{}`, `null`, `[]`, `"x"`, `<html>`,
		`{"results":{"00000000000000000000000000000000":"retry"},"next_request_wait_ms":100}`,
		`{"next_request_wait_ms":1e308}`,
		`{"next_request_wait_ms":-1e308}`,
		`{"next_request_wait_ms":3600000.5}`,
		`{"next_request_wait_ms":"5"}`,
		`{"results":[]}`,
		`{"results":{"a":1}}`,
		`{"results":null,"next_request_wait_ms":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, wait, ok := parseResponse(body)
		if wait < 0 || wait > maxNextRequestWait {
			t.Errorf("wait %v outside [0, %v] for %q", wait, maxNextRequestWait, body)
		}
		if ok && len(bytes.Trim(body, jsonSpace)) > 0 && !json.Valid(body) {
			t.Errorf("invalid JSON %q accepted", body)
		}
		if !ok && (resp.Results != nil || wait != 0) {
			t.Errorf("malformed body %q gave results %v, wait %v", body, resp.Results, wait)
		}
	})
}

// FuzzParseRetryAfter: any header value gives a non-negative delay, and a
// number of seconds is capped so that no later arithmetic overflows.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "30", "18446744073709551615", "99999999999999999999", "-1", " 5 ",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 2094 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "1.5"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 || (!ok && d != 0) {
			t.Errorf("parseRetryAfter(%q) = %v, %v", v, d, ok)
		}
		if w := retryWait(4, d, func(d time.Duration) time.Duration { return d }); w < 0 || w > backoffMax+maxRetryAfter {
			t.Errorf("retryWait with Retry-After %q = %v", v, w)
		}
		if w := circuitWait(d); w < circuitOpen || w > maxCircuitOpen {
			t.Errorf("circuitWait with Retry-After %q = %v", v, w)
		}
	})
}

// FuzzDeliveredAccounting answers a batch of n events with an arbitrary 2xx
// body and checks the exporter's accounting: every event ends delivered,
// dropped or queued for retry, and the invariant holds. Event i has the id
// 0x<i repeated>, so seeds can name them.
func FuzzDeliveredAccounting(f *testing.F) {
	id := func(i byte) string {
		var b [16]byte
		for k := range b {
			b[k] = i
		}
		return string(appendHex(nil, b[:]))
	}
	f.Add([]byte(`{"results":{"`+id(0)+`":"retry","`+id(1)+`":"drop","`+id(2)+`":"warning","`+id(3)+`":"ok"}}`), uint8(5), false)
	f.Add([]byte(`{"results":{"`+id(3)+`":"retry"},"next_request_wait_ms":5}`), uint8(4), false)
	f.Add([]byte(`{"results":{"`+id(0)+`":"retry"}}`), uint8(1), true)
	f.Add([]byte(`not json`), uint8(3), false)
	f.Add([]byte(``), uint8(0), false)
	f.Fuzz(func(t *testing.T, body []byte, n uint8, ndjson bool) {
		cfg := Config{Endpoint: "http://127.0.0.1:1", Logger: quiet}
		if ndjson {
			cfg.Format = FormatNDJSON
		}
		e := idleExporter(t, cfg)
		e.hooks.after = func(waitKind, time.Duration) <-chan time.Time { return nil }
		items := make([]item, n)
		for i := range items {
			for k := range items[i].id {
				items[i].id[k] = byte(i)
			}
			items[i].retries = uint8(i % maxEventRetries)
		}
		b := e.newRequest(items)
		b.attempts = 1
		e.stats.Recorded = uint64(n)
		e.inHand = int(n)
		e.st.cur = b
		e.delivered(b, result{status: 200, body: body})
		s := e.Stats()
		if s.Recorded != s.Delivered+s.DroppedTotal()+uint64(s.Pending) {
			t.Fatalf("invariant broken: %+v", s)
		}
		if int(s.Pending) != len(e.st.retryQ) {
			t.Errorf("Pending %d, but %d events queued for retry", s.Pending, len(e.st.retryQ))
		}
		if e.st.cur != nil {
			t.Error("the delivered batch is still current")
		}
		if ndjson && s.Delivered != uint64(n) {
			t.Errorf("NDJSON: %d of %d delivered", s.Delivered, n)
		}
		for _, it := range e.st.retryQ {
			if it.retries >= maxEventRetries {
				t.Errorf("event answered retry %d times queued again", it.retries)
			}
		}
	})
}

func appendHex(dst, src []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range src {
		dst = append(dst, digits[c>>4], digits[c&0xf])
	}
	return dst
}
