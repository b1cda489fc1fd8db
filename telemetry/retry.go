package telemetry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry policy. The durations are the production values; tests replace the
// waits through Exporter.hooks.
const (
	// maxAttempts bounds the attempts of one request.
	maxAttempts = 4
	// maxEventRetries: an event answered "retry" this many times is dropped.
	maxEventRetries = 4
	// backoffBase is the wait after the first failed attempt; it doubles
	// after each further failure up to backoffMax, and is jittered.
	backoffBase = time.Second
	backoffMax  = 30 * time.Second
	// maxRetryAfter clamps Retry-After for a resend.
	maxRetryAfter = 30 * time.Second
	// circuitThreshold consecutive failed requests open the circuit for
	// circuitOpen, or for Retry-After when longer, up to maxCircuitOpen.
	circuitThreshold = 5
	circuitOpen      = time.Minute
	maxCircuitOpen   = 10 * time.Minute
	// requestTimeout bounds one request (and never goes beyond the
	// shutdown budget while stopping).
	requestTimeout = 10 * time.Second
)

// verdict is what to do with a batch after a response.
type verdict int

const (
	verdictDelivered verdict = iota // 2xx
	verdictRetry                    // resend the same request later
	verdictSplit                    // 413: send the halves
	verdictReject                   // drop, do not retry
)

// classify maps a status code to a verdict.
func classify(status int) verdict {
	switch {
	case status >= 200 && status < 300:
		return verdictDelivered
	case status == http.StatusRequestEntityTooLarge:
		return verdictSplit
	}
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return verdictRetry
	}
	return verdictReject
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (taken relative to now). The result is not clamped; a date in the past is
// 0. ok is false when the value is not understood.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		if secs > uint64(maxCircuitOpen/time.Second) { // avoid overflow; every use clamps lower
			secs = uint64(maxCircuitOpen / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d = t.Sub(now); d < 0 {
		d = 0
	}
	return d, true
}

// backoff returns the wait after the failed attempt number attempts (1 for
// the first): backoffBase doubled per further failure, capped at backoffMax,
// then jittered.
func backoff(attempts int, jitter func(time.Duration) time.Duration) time.Duration {
	d := backoffBase
	for i := 1; i < attempts && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return jitter(d)
}

// equalJitter returns a duration in [d/2, d] from r, a uniform value in [0, 1).
func equalJitter(d time.Duration, r float64) time.Duration {
	half := d / 2
	return half + time.Duration(r*float64(d-half))
}

// retryWait returns the wait before resending after the failed attempt
// number attempts: the backoff, or Retry-After (clamped to maxRetryAfter)
// when that is longer.
func retryWait(attempts int, retryAfter time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	return max(backoff(attempts, jitter), min(retryAfter, maxRetryAfter))
}

// circuitWait returns how long the circuit stays open: circuitOpen, or
// Retry-After (clamped to maxCircuitOpen) when that is longer.
func circuitWait(retryAfter time.Duration) time.Duration {
	return max(circuitOpen, min(retryAfter, maxCircuitOpen))
}
