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

// BenchmarkRecord measures the query-path cost of one event.
func BenchmarkRecord(b *testing.B) {
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
