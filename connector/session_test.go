package connector

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sqltel/sqltel/internal/sqlfp"
	"github.com/sqltel/sqltel/telemetry"
)

type failingClose struct{ baseConn }

var errClose = errors.New("inner close failed")

func (failingClose) Close() error { return errClose }

// A connection gives its references back exactly once, even when Close is
// called twice and the inner Close fails, and records its close once.
func TestCloseReleasesOnce(t *testing.T) {
	c := &Connector{now: time.Now}
	var released, closes int
	s := &session{c: c, active: true, release: func() { released++ },
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
	s := &session{c: &Connector{now: time.Now}, active: true}
	queries := []string{"select 1", "SELECT 2", "insert into t values (?)", "update t set a = 1",
		"delete from t", "create table u (a int)", "", strings.Repeat("select 1", 1)}
	for range 3 {
		for _, q := range queries {
			want := stmtID{fp: sqlfp.Fingerprint(q), kind: sqlfp.Kind(q)}
			if got := s.newStmtID(q); got != want {
				t.Errorf("newStmtID(%q) = %+v, want %+v", q, got, want)
			}
		}
	}
}

// With the real clock a session's start times are read from the monotonic
// clock off an anchor, which is read again from the wall clock once it is a
// second old: they stay between the wall-clock readings around them.
func TestSessionNowAnchored(t *testing.T) {
	s := &session{c: &Connector{now: time.Now, realClock: true}, active: true}
	check := func(what string) time.Time {
		t.Helper()
		before := time.Now()
		got := s.now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Fatalf("%s: now() = %v, outside [%v, %v]", what, got, before, after)
		}
		if got.Round(0).Before(before.Round(0).Add(-time.Millisecond)) || got.Round(0).After(after.Round(0).Add(time.Millisecond)) {
			t.Fatalf("%s: wall time %v outside [%v, %v]", what, got.Round(0), before.Round(0), after.Round(0))
		}
		return got
	}
	first := check("first read")
	if s.anchor != first {
		t.Error("the first read did not anchor")
	}
	check("from the anchor")
	if s.anchor != first {
		t.Error("re-anchored within the second")
	}
	// An anchor more than a second old is replaced, wherever its wall
	// reading was (the system clock was stepped since).
	stale := time.Now().Add(-2 * time.Second)
	s.anchor = stale
	check("after a stale anchor")
	if s.anchor == stale {
		t.Error("a stale anchor was kept")
	}
	if s := (&session{c: &Connector{now: func() time.Time { return time.Unix(7, 0) }}, active: true}); !s.now().Equal(time.Unix(7, 0)) {
		t.Error("an injected clock was not used")
	}
}
