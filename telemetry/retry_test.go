package telemetry

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		v      string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 12 ", 12 * time.Second, true},
		{"99999999999999999999", 0, false}, // overflows uint64: not a number, not a date
		{"100000000", maxCircuitOpen, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"-3", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.v, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v %v, want %v %v", tt.v, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBackoff(t *testing.T) {
	id := func(d time.Duration) time.Duration { return d }
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := backoff(i+1, id); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := retryWait(1, 10*time.Second, id); got != 10*time.Second {
		t.Errorf("retryWait with Retry-After 10s = %v", got)
	}
	if got := retryWait(3, time.Second, id); got != 4*time.Second {
		t.Errorf("retryWait with a short Retry-After = %v", got)
	}
	if got := retryWait(1, time.Hour, id); got != maxRetryAfter {
		t.Errorf("retryWait with Retry-After 1h = %v", got)
	}
	for _, r := range []float64{0, 0.5, 0.999} {
		if got := equalJitter(4*time.Second, r); got < 2*time.Second || got > 4*time.Second {
			t.Errorf("equalJitter(4s, %v) = %v, want in [2s, 4s]", r, got)
		}
	}
}

func TestClassify(t *testing.T) {
	want := map[int]verdict{
		200: verdictDelivered, 202: verdictDelivered, 204: verdictDelivered,
		408: verdictRetry, 429: verdictRetry, 500: verdictRetry, 502: verdictRetry, 503: verdictRetry, 504: verdictRetry,
		413: verdictSplit,
		301: verdictReject, 400: verdictReject, 401: verdictReject, 404: verdictReject, 501: verdictReject, 505: verdictReject,
	}
	for status, w := range want {
		if got := classify(status); got != w {
			t.Errorf("classify(%d) = %v, want %v", status, got, w)
		}
	}
}
