package driver_test

import (
	"database/sql"
	"testing"

	sqltel "github.com/sqltel/sqltel/driver"
)

// A nil inner driver is an error, not a panic, on every path that reaches
// it: NewConnector, Wrap(nil).Open and sql.Open on a name registered with
// sql.Register(name, sqltel.Wrap(nil)). (They died of a nil dereference.)
func TestNilInnerDriverIsAnError(t *testing.T) {
	noPanic := func(what string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s panicked: %v (want an error)", what, r)
			}
		}()
		f()
	}
	noPanic("NewConnector(nil, dsn)", func() {
		if _, err := sqltel.NewConnector(nil, "file:x.db"); err == nil {
			t.Error("NewConnector(nil, dsn): no error")
		}
	})
	noPanic("Wrap(nil).Open(dsn)", func() {
		if _, err := sqltel.Wrap(nil).Open("file:x.db"); err == nil {
			t.Error("Wrap(nil).Open: no error")
		}
	})
	sql.Register("sqltel-test-wrap-nil", sqltel.Wrap(nil))
	noPanic(`sql.Open("sqltel-test-wrap-nil", dsn)`, func() {
		if _, err := sql.Open("sqltel-test-wrap-nil", "file:x.db"); err == nil {
			t.Error(`sql.Open("sqltel-test-wrap-nil"): no error`)
		}
	})
}

// A configuration refused after the inner connector was opened (what only
// connector.New sees: telemetry=on without an endpoint, an http endpoint
// off loopback) closes that connector: it may own a database handle and its
// file lock (ownDriver here, as embedded engines do).
func TestRefusedConfigClosesInnerConnector(t *testing.T) {
	for _, dsn := range []string{
		"x?telemetry=on",
		"x?telemetry=on&telemetry_endpoint=http://collector.example.com",
	} {
		d := &ownDriver{}
		if _, err := sqltel.NewConnector(d, dsn); err == nil {
			t.Fatalf("NewConnector(%q): no error", dsn)
		}
		if len(d.made) != 1 {
			t.Fatalf("%q: %d inner connectors made", dsn, len(d.made))
		}
		if !d.made[0].closed.Load() {
			t.Errorf("NewConnector(%q) failed but left the inner connector it opened unclosed", dsn)
		}
		// The same through database/sql's registry.
		d2 := &ownDriver{}
		name := "sqltel-test-own-" + dsn
		sqltel.Register(name, d2)
		if _, err := sql.Open(name, dsn); err == nil {
			t.Fatalf("sql.Open(%q): no error", dsn)
		}
		if len(d2.made) != 1 || !d2.made[0].closed.Load() {
			t.Errorf("sql.Open(sqltel name, %q) failed but left the inner connector unclosed", dsn)
		}
	}
}
