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
