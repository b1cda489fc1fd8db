// Package driver is sqltel's database/sql driver: it wraps any other driver
// and adds opt-in, connection-scoped telemetry.
//
// Telemetry is configured in the DSN itself, with parameters whose names
// start with "telemetry" (telemetry=on, telemetry_endpoint=..., listed in the
// README's table of DSN parameters); an invalid one is a *DSNError from
// sql.Open or NewConnector. sqltel reads and removes them before the inner driver sees the
// DSN, splicing them out so that every other byte reaches the inner driver
// unchanged; the inner driver never learns they were there. Each connection
// is identified in telemetry by a host key derived from the stripped DSN (the
// URL's host, MySQL's tcp(host:port), libpq's host= and port=, lower-cased
// with the default port made explicit; unix sockets and SQLite files are
// "localhost"), never by the DSN itself, which may hold a password.
package driver
