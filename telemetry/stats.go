package telemetry

import "time"

// Stats are an exporter's counters. A snapshot returned by Exporter.Stats is
// consistent: every counter is updated under one lock, so
//
//	Recorded == Delivered + Dropped.Total() + Pending
//
// holds in every snapshot. After the exporter stops, Pending is 0 and the
// counters stop moving, except that events recorded after the stop are
// counted in Recorded and Dropped.Shutdown.
type Stats struct {
	// Recorded counts the events passed to Record.
	Recorded uint64
	// Delivered counts the events the collector accepted ("ok", "warning",
	// absent from the results, or any event of a 2xx whose body was
	// malformed).
	Delivered uint64
	// Pending counts the events in the buffer, in the batch being sent and
	// waiting to be retried.
	Pending int64
	// Requests counts HTTP requests, retries included.
	Requests uint64
	// Retries counts requests that were resends of an earlier request.
	Retries uint64
	// EventRetries counts events the collector answered "retry" for and
	// that were queued again.
	EventRetries uint64
	// Warnings counts events the collector accepted with "warning".
	Warnings uint64
	// MalformedResponses counts 2xx answers whose body was not valid JSON.
	MalformedResponses uint64
	// Panics counts panics recovered in the exporter's goroutine.
	Panics uint64
	// LastSuccess is the time of the last 2xx answer (zero if none).
	LastSuccess time.Time
	// Dropped counts lost events by cause.
	Dropped DroppedStats
}

// DroppedStats counts lost events by cause.
type DroppedStats struct {
	// Overflow: the buffer was full and the oldest event was overwritten.
	Overflow uint64
	// Rejected: refused with a non-retryable status, or answered "drop".
	Rejected uint64
	// RetriesExhausted: the request failed 4 times, or the event was
	// answered "retry" 4 times.
	RetriesExhausted uint64
	// TooLarge: a batch of one event was refused with 413.
	TooLarge uint64
	// Shutdown: still pending when the shutdown budget ran out, or recorded
	// after the exporter stopped.
	Shutdown uint64
	// Internal: held by the exporter when it recovered from a panic.
	Internal uint64
}

// Total returns the sum of the drop counters.
func (d DroppedStats) Total() uint64 {
	return d.Overflow + d.Rejected + d.RetriesExhausted + d.TooLarge + d.Shutdown + d.Internal
}

// DroppedTotal returns s.Dropped.Total().
func (s Stats) DroppedTotal() uint64 { return s.Dropped.Total() }
