package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestRegistrySharing(t *testing.T) {
	c := newCollector(t, nil)
	r := NewRegistry()
	cfg := Config{Endpoint: c.URL, Token: "a", FlushInterval: time.Hour, Logger: quiet}
	e1, err := r.Acquire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	slash := cfg
	slash.Endpoint += "/"
	e2, _ := r.Acquire(slash)
	other := cfg
	other.Token = "b"
	e3, _ := r.Acquire(other)
	if e1 != e2 {
		t.Error("the same endpoint and token gave two exporters")
	}
	if e1 == e3 {
		t.Error("another token shared the exporter")
	}
	e1.Release()
	e2.Release() // last: stops e1
	e2.Release() // one too many: no-op
	if err := e1.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after the last Release = %v, want ErrClosed", err)
	}
	e4, _ := r.Acquire(cfg)
	if e4 == e1 {
		t.Error("Acquire after the last Release returned the stopped exporter")
	}
	e4.Record(testEvent(1))
	e3.Record(testEvent(2))
	if err := r.Flush(context.Background()); err != nil {
		t.Errorf("Registry.Flush = %v", err)
	}
	if got := len(c.requests()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
	// Shutdown stops them whatever their references.
	if err := r.Shutdown(context.Background()); err != nil {
		t.Errorf("Registry.Shutdown = %v", err)
	}
	for _, e := range []*Exporter{e3, e4} {
		select {
		case <-e.done:
		default:
			t.Error("exporter still running after Shutdown")
		}
		checkInvariant(t, e.Stats())
		e.Release() // no-op
	}
	if _, err := r.Acquire(Config{Endpoint: "http://example.com"}); err == nil {
		t.Error("Acquire with an invalid config succeeded")
	}
}

func TestRegistryShutdownReportsLoss(t *testing.T) {
	c, unstick := newHangingCollector(t)
	defer unstick()
	r := NewRegistry()
	e, _ := r.Acquire(Config{Endpoint: c.URL, BatchSize: 1, FlushInterval: time.Hour, ShutdownTimeout: time.Hour, Logger: quiet})
	e.Record(testEvent(1))
	c.waitRequests(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := r.Shutdown(ctx)
	if !errors.Is(err, ErrShutdown) {
		t.Errorf("Shutdown = %v, want ErrShutdown", err)
	}
	if s := e.Stats(); s.Dropped.Shutdown != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestSessionRotation(t *testing.T) {
	r := NewRegistry()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s0 := r.session(t0)
	if len(s0) != 32 {
		t.Errorf("session id %q, want 32 hex digits", s0)
	}
	if s := r.session(t0.Add(23 * time.Hour)); s != s0 {
		t.Error("session rotated before 24h")
	}
	s1 := r.session(t0.Add(24 * time.Hour))
	if s1 == s0 {
		t.Error("session not rotated after 24h")
	}
	if NewRegistry().session(t0) == s0 {
		t.Error("two registries share a session id")
	}
}

func TestDefault(t *testing.T) {
	if a, b := Default(), Default(); a != b {
		t.Error("Default() is not one registry")
	}
	if err := Flush(context.Background()); err != nil {
		t.Errorf("Flush() = %v", err)
	}
	if err := Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
