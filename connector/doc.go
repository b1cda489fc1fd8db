// Package connector wraps a database/sql driver.Connector so that the
// connections it opens can record one telemetry event per operation.
//
// New wraps any driver.Connector; sql.OpenDB(c) then works as with the inner
// connector. Telemetry is off unless WithMode says otherwise, and with ModeOn
// it is on only for connections opened while the telemetry service's feature
// flag for the host (package flags) says so. With telemetry off (the
// default) connections are returned unwrapped; with it on, a connection the
// flag or the environment does not let record is still wrapped, and records
// nothing. A recording connection is wrapped in conn,
// its statements in stmt, its transactions in tx and its result sets in rows;
// each reports to the session it was opened with, which records into the
// exporter shared by every connector with the same endpoint (package
// telemetry) and, on the connection's Close, gives back its references.
//
// The wrappers are invisible to database/sql: the optional interfaces whose
// presence changes database/sql's behaviour are exposed exactly when the
// inner value has them (mirror_gen.go, written by go generate), and the
// others are always exposed with database/sql's own fallbacks (ctxutil.go).
// Errors are the inner driver's values, returned untouched; a panic inside
// recording is recovered and counted (Connector.RecoveredPanics).
package connector

//go:generate go run ./internal/genmirror
