package telemetry

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchExporter returns a running exporter sending to a collector that
// accepts everything.
func benchExporter(b *testing.B) *Exporter {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	r := NewRegistry()
	e, err := r.Acquire(Config{Endpoint: srv.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Release)
	return e
}

// BenchmarkRecord measures the query-path cost of one event, into a buffer
// that is emptied as a sender that keeps up empties it: every batch's worth
// of events is taken from its head and the wake-up signal received, with
// the timer stopped, so the events walk the whole ring and each batch's
// signal (a send on the sender's channel, no goroutine parked on it) is
// part of the figure. (No sender keeps up with Record called flat out:
// with a live one the buffer stays full and every call takes the overwrite
// path, which BenchmarkRecordFull measures.)
func BenchmarkRecord(b *testing.B) {
	e := idleExporter(b, Config{Endpoint: "http://127.0.0.1:1", Logger: quiet})
	ev := testEvent(1)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		e.Record(ev)
		if n++; n == DefaultBatchSize {
			b.StopTimer()
			e.mu.Lock()
			e.ring.pop(nil, n)
			e.mu.Unlock()
			select {
			case <-e.wake:
			default:
			}
			n = 0
			b.StartTimer()
		}
	}
}

// BenchmarkRecordFull is Record into a live exporter flat out: the buffer
// is full, and every event overwrites the oldest (counted as overflow).
func BenchmarkRecordFull(b *testing.B) {
	e := benchExporter(b)
	ev := testEvent(1)
	b.ReportAllocs()
	for b.Loop() {
		e.Record(ev)
	}
}

// BenchmarkRecordParallel is BenchmarkRecord from GOMAXPROCS goroutines.
func BenchmarkRecordParallel(b *testing.B) {
	e := benchExporter(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ev := testEvent(1)
		for pb.Next() {
			e.Record(ev)
		}
	})
}

// BenchmarkRecordTwoHosts is BenchmarkRecord with the events of two
// hosts interleaved, as a primary's and a replica's connections sharing an
// exporter record them.
func BenchmarkRecordTwoHosts(b *testing.B) {
	e := benchExporter(b)
	primary, replica := testEvent(1), testEvent(2)
	replica.Host = "replica.example:5432"
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i&1 == 0 {
			e.Record(primary)
		} else {
			e.Record(replica)
		}
		i++
	}
}
