package telemetry

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. An *ExportError wraps one of them in its Err field, so
// callers can test with errors.Is.
var (
	// ErrClosed is returned by Flush when the exporter has stopped.
	ErrClosed = errors.New("telemetry: exporter closed")
	// ErrRejected: the collector refused the request with a 4xx status
	// other than 408, 413 and 429 (or an unexpected status), or answered
	// "drop" for some events.
	ErrRejected = errors.New("telemetry: events rejected by the collector")
	// ErrRetriesExhausted: a request or an event was retried as many times
	// as allowed and still failed.
	ErrRetriesExhausted = errors.New("telemetry: retries exhausted")
	// ErrTooLarge: a single event was refused with 413.
	ErrTooLarge = errors.New("telemetry: event too large")
	// ErrMalformedResponse: a 2xx answer was not valid JSON. The events are
	// counted as delivered and not sent again.
	ErrMalformedResponse = errors.New("telemetry: malformed collector response")
	// ErrShutdown: events still pending when the shutdown budget ran out.
	ErrShutdown = errors.New("telemetry: events dropped at shutdown")
	// ErrInternal: the exporter recovered from a panic (a bug); the events it
	// held were dropped.
	ErrInternal = errors.New("telemetry: internal error")
)

// ExportError describes a request outcome that lost events or could not be
// understood. It is passed to Config.OnError. It never contains the token.
type ExportError struct {
	// Status is the last HTTP status, or 0 when there was none (transport
	// error, shutdown, internal error).
	Status int
	// RequestID is the Sqltel-Request-Id of the request, "" when the events
	// never made it into a request.
	RequestID string
	// Attempts is how many times the request was sent.
	Attempts int
	// Dropped lists the ids of the dropped events, when they had one (an
	// event gets its id when it is taken into a batch).
	Dropped []string
	// Err is one of the sentinel errors, possibly wrapping the cause.
	Err error
}

// Error implements error.
func (e *ExportError) Error() string {
	b := []byte("telemetry: export")
	if e.RequestID != "" {
		b = append(b, " request "...)
		b = append(b, e.RequestID...)
	}
	if e.Status != 0 {
		b = append(b, " status "...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
	}
	if e.Attempts != 0 {
		b = append(b, " after "...)
		b = strconv.AppendInt(b, int64(e.Attempts), 10)
		b = append(b, " attempt(s)"...)
	}
	if len(e.Dropped) != 0 {
		b = fmt.Appendf(b, ", %d event(s) dropped", len(e.Dropped))
	}
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

// Unwrap returns e.Err.
func (e *ExportError) Unwrap() error { return e.Err }
