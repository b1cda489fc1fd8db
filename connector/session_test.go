package connector

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sqltel/sqltel/internal/sqlfp"
	"github.com/sqltel/sqltel/telemetry"
)

// discard is a recorder for sessions whose events do not matter.
var discard = telemetry.RecorderFunc(func(telemetry.Event) {})

type failingClose struct{ baseConn }

var errClose = errors.New("inner close failed")

func (failingClose) Close() error { return errClose }

// A connection gives its references back exactly once, even when Close is
// called twice and the inner Close fails, and records its close once.
func TestCloseReleasesOnce(t *testing.T) {
	c := &Connector{}
	var released, closes int
	s := &session{c: c, release: func() { released++ },
		rec: telemetry.RecorderFunc(func(ev telemetry.Event) {
			if ev.Op == telemetry.OpClose {
				closes++
			}
		})}
	w := &conn{inner: failingClose{}, s: s}
	for i := 0; i < 2; i++ {
		if err := w.Close(); err != errClose {
			t.Fatalf("Close #%d = %v, want the inner error itself", i+1, err)
		}
	}
	if released != 1 || closes != 1 {
		t.Errorf("released %d times, recorded %d closes; want 1 and 1", released, closes)
	}
}

// The per-connection statement cache answers exactly what fingerprinting
// would, hit or miss, including for different strings with equal text.
func TestStmtIDCache(t *testing.T) {
	s := &session{c: &Connector{}, rec: discard}
	queries := []string{"select 1", "SELECT 2", "insert into t values (?)", "update t set a = 1",
		"delete from t", "create table u (a int)", "", strings.Clone("select 1")}
	for range 3 {
		for _, q := range queries {
			want := stmtID{fp: sqlfp.Fingerprint(q), kind: sqlfp.Kind(q)}
			if got := s.newStmtID(q); got != want {
				t.Errorf("newStmtID(%q) = %+v, want %+v", q, got, want)
			}
		}
	}
}

// With the real clock an operation's start is the anchor plus monotonic
// time: it must read as time.Now would, keep a monotonic reading (latencies
// come from it), and take a fresh anchor once the old one is anchorAge old.
func TestSessionNowAnchored(t *testing.T) {
	s := &session{c: &Connector{}, rec: discard}
	before := time.Now()
	got := s.now()
	after := time.Now()
	if got.Before(before) || got.After(after) {
		t.Fatalf("first now() = %v, not within [%v, %v]", got, before, after)
	}
	first := s.anchor
	if first.IsZero() {
		t.Fatal("first now() took no anchor")
	}
	for range 100 {
		before := time.Now()
		got := s.now()
		after := time.Now()
		// Wall times within a millisecond: the anchor is at most anchorAge
		// old, and the wall clock cannot drift that far from it meanwhile.
		if got.Round(0).Before(before.Round(0).Add(-time.Millisecond)) || got.Round(0).After(after.Round(0).Add(time.Millisecond)) {
			t.Fatalf("now() wall time %v, not within [%v, %v]", got.Round(0), before.Round(0), after.Round(0))
		}
		if got == got.Round(0) {
			t.Fatalf("now() = %v has no monotonic reading", got)
		}
		if got.Before(before) || got.After(after) {
			t.Fatalf("now() = %v, not within [%v, %v] on the monotonic clock", got, before, after)
		}
	}
	if s.anchor != first && time.Since(first) < anchorAge {
		t.Fatalf("anchor changed within %v", anchorAge)
	}
	// An old anchor is replaced by a fresh reading.
	s.anchor = time.Now().Add(-anchorAge)
	old := s.anchor
	got = s.now()
	if s.anchor == old || got != s.anchor {
		t.Errorf("now() with an anchor %v old = %v, anchor %v; want a fresh anchor", anchorAge, got, s.anchor)
	}
	// An injected clock is read as it is.
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s = &session{c: &Connector{cfg: config{now: func() time.Time { return fixed }}}, rec: discard}
	if got := s.now(); !got.Equal(fixed) {
		t.Errorf("now() with an injected clock = %v, want %v", got, fixed)
	}
}

// SQLite's stale changes() count is left out however the system is named,
// and only for SQLite.
func TestRowCountForOtherStatements(t *testing.T) {
	for system, counts := range map[string]bool{
		"sqlite": false, "SQLite": false, "sqlite3": false, "libsql": false,
		"postgresql": true, "mysql": true, "": true,
	} {
		s := &session{dbSystem: system, sqlite: isSQLite(system)}
		if got := s.hasRowCount(telemetry.KindOther); got != counts {
			t.Errorf("db_system %q: OTHER statements report a row count = %v, want %v", system, got, counts)
		}
		if !s.hasRowCount(telemetry.KindUpdate) || s.hasRowCount(telemetry.KindDDL) {
			t.Errorf("db_system %q: UPDATE and DDL row counts wrong", system)
		}
	}
}

// A Connect that acquired an exporter before a Shutdown may pin it after
// another Connect pinned the new one: Stats counts each exporter once.
func TestStatsCountEachExporterOnce(t *testing.T) {
	reg := telemetry.NewRegistry()
	c, err := New(minimalConnector{}, WithMode(ModeForce), WithEndpoint("http://127.0.0.1:1"),
		WithRegistry(reg), WithFlushInterval(time.Hour), WithShutdownTimeout(50*time.Millisecond),
		WithLogger(slog.New(slog.DiscardHandler)), WithEnv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	early, err := reg.Acquire(c.tcfg)
	if err != nil {
		t.Fatal(err)
	}
	early.Record(telemetry.Event{Host: "h"})
	reg.Shutdown(t.Context()) // its error reports the event the unreachable endpoint never got
	late, err := reg.Acquire(c.tcfg)
	if err != nil {
		t.Fatal(err)
	}
	late.Record(telemetry.Event{Host: "h"})
	c.pin(late)
	c.pin(early) // the early Connect pins last
	c.pin(late)
	if st := c.Stats(); st.Recorded != 2 {
		t.Errorf("Stats counted %d events, want the two exporters' 2, each once", st.Recorded)
	}
	late.Release()
	early.Release()
	c.Close()
}

// minimalConnector connects to baseConn.
type minimalConnector struct{}

func (minimalConnector) Connect(context.Context) (driver.Conn, error) { return baseConn{}, nil }
func (minimalConnector) Driver() driver.Driver                        { return nil }
