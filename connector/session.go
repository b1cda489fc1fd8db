package connector

import (
	"database/sql/driver"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sqltel/sqltel/internal/sqlfp"
	"github.com/sqltel/sqltel/telemetry"
)

// session is a wrapped connection's link to telemetry: where its events go,
// what identifies them, and what the connection must give back when it
// closes. With telemetry off connections are not wrapped and have none.
type session struct {
	c *Connector
	// rec is nil for a connection opened with telemetry on whose flag said
	// no: it is wrapped all the same, so that the type sql.Conn.Raw sees
	// does not depend on a server's answer, but records nothing and holds
	// no reference (see recording).
	rec      telemetry.Recorder
	host     string
	dbSystem string
	sqlite   bool // isSQLite(dbSystem), decided once: see hasRowCount
	connID   uint64
	release  func() // gives back the flag and exporter references
	released atomic.Bool

	// ids caches the last statements' ids: applications run the same few
	// statements again and again, from the same string constants. Holding
	// the strings keeps their memory from being reused, and comparing a
	// string with itself is a pointer check, so a hit costs a few
	// instructions instead of a fingerprint. database/sql uses a connection
	// from one goroutine at a time, so the cache needs no lock.
	ids  [4]cachedID
	next uint8
	hit  uint8 // the entry that answered last: the next statement is often the same

	// anchor is a reading of both clocks, wall and monotonic, taken at most
	// anchorAge ago. With the real clock an operation starts at anchor plus
	// the monotonic time since it: one clock read where time.Now makes two,
	// and on a virtual machine a clock read is a good part of what
	// recording a short statement costs. Like ids it is only touched from
	// the goroutine that holds the connection.
	anchor time.Time
}

// anchorAge bounds how far an event's wall time can drift from time.Now:
// NTP slews the wall clock by at most 500 ppm (50 µs in this long), and a
// step of the clock, or a system sleep (the monotonic clock stands still
// through one), shows in the events within this much monotonic time. A
// time.Now ten times a second per busy connection costs nothing.
const anchorAge = 100 * time.Millisecond

type cachedID struct {
	query string
	id    stmtID
}

// recording reports whether the connection records events.
func (s *session) recording() bool { return s.rec != nil }

// now is the start of an operation's timing; an inactive session does not
// read the clock.
func (s *session) now() time.Time {
	if !s.recording() {
		return time.Time{}
	}
	if !s.c.realClock() {
		return s.c.now()
	}
	// time.Since reads only the monotonic clock when anchor has a
	// monotonic reading; the zero anchor has none and a huge age, so the
	// first call sets it.
	if d := time.Since(s.anchor); d < anchorAge {
		return s.anchor.Add(d)
	}
	s.anchor = time.Now()
	return s.anchor
}

// now reads the connector's clock: time.Now unless WithClock gave another.
func (c *Connector) now() time.Time {
	if c.cfg.now == nil {
		return time.Now()
	}
	return c.cfg.now()
}

// realClock reports whether the clock is time.Now: elapsed times are then
// read from the monotonic clock alone (time.Since), one clock read where
// time.Now makes two.
func (c *Connector) realClock() bool { return c.cfg.now == nil }

// since is the time elapsed from start, read from the monotonic clock when
// the connector uses the real one.
func (c *Connector) since(start time.Time) time.Duration {
	if c.realClock() {
		return time.Since(start)
	}
	return c.now().Sub(start)
}

// done releases the session's references exactly once, however many times
// the connection is closed.
func (s *session) done() {
	if s.released.CompareAndSwap(false, true) && s.release != nil {
		s.release()
	}
}

// record builds and records one event. It runs after the inner driver has
// answered and its results are already in the caller's hands, so a panic in
// here (a fingerprinting bug, a broken recorder) is recovered, counted and
// cannot change what the user's call returns.
//
// A statement is given either as its text (fingerprinted here, inside the
// firewall) or, for prepared statements, as the id computed once at Prepare.
// An exec gives its result, whose RowsAffected is the row count; it is
// called inside the firewall too, since the result belongs to the driver
// and may do anything.
func (s *session) record(op telemetry.Op, query string, id stmtID, start time.Time, res driver.Result, err error, inTx bool) {
	if !s.recording() {
		return
	}
	latency := s.c.since(start) // before fingerprinting, which is not the driver's time
	defer s.recoverPanic()
	if query != "" {
		id = s.newStmtID(query)
	}
	rows := int64(-1)
	if err == nil && res != nil && s.hasRowCount(id.kind) {
		if n, rerr := res.RowsAffected(); rerr == nil {
			rows = n
		}
	}
	s.emit(op, id, start, latency, 0, rows, err, inTx)
}

func (s *session) emit(op telemetry.Op, id stmtID, start time.Time, latency, total time.Duration, rows int64, err error, inTx bool) {
	s.rec.Record(telemetry.Event{
		Time:        start,
		Host:        s.host,
		DBSystem:    s.dbSystem,
		ConnID:      s.connID,
		Fingerprint: id.fp,
		Latency:     latency,
		Total:       total,
		Rows:        rows,
		Op:          op,
		Kind:        id.kind,
		Err:         category(err),
		InTx:        inTx,
		SQL:         id.sql,
	})
}

func (s *session) recoverPanic() {
	if r := recover(); r != nil {
		s.c.panicked(r)
	}
}

// stmtID is what an event says about its statement: never the text, only
// its kind and fingerprint.
type stmtID struct {
	fp   uint64
	kind telemetry.Kind
	sql  string // normalised text, only with WithStatementText
}

func (s *session) newStmtID(query string) stmtID {
	if c := &s.ids[s.hit%uint8(len(s.ids))]; c.query == query && query != "" {
		return c.id
	}
	for i := range s.ids {
		if c := &s.ids[i]; c.query == query && query != "" {
			s.hit = uint8(i)
			return c.id
		}
	}
	id := stmtID{fp: sqlfp.Fingerprint(query), kind: sqlfp.Kind(query)}
	if s.c.cfg.statementText {
		id.sql = sqlfp.Normalize(query)
	}
	s.ids[s.next%uint8(len(s.ids))] = cachedID{query, id}
	s.next++
	return id
}

// id fingerprints a statement being prepared, inside the panic firewall.
func (s *session) id(query string) stmtID {
	if !s.recording() {
		return stmtID{}
	}
	defer s.recoverPanic()
	return s.newStmtID(query)
}

// recordRows records a query when its rows are closed.
func (s *session) recordRows(r *rows, total time.Duration, err error, inTx bool) {
	defer s.recoverPanic()
	id := r.id
	if r.query != "" {
		id = s.newStmtID(r.query)
	}
	s.emit(r.op, id, r.start, r.latency, total, r.n, err, inTx)
}

// hasRowCount reports whether an exec's RowsAffected means something for
// its statement kind. DML's does, and so does that of other statements on
// most systems (PostgreSQL's MERGE and COPY, say). DDL's does not: SQLite's
// changes() still holds the previous statement's count after it, and
// likewise after PRAGMA, SAVEPOINT, RELEASE, ANALYZE or VACUUM, so on
// SQLite only DML's counts.
func (s *session) hasRowCount(k telemetry.Kind) bool {
	switch k {
	case telemetry.KindInsert, telemetry.KindUpdate, telemetry.KindDelete:
		return true
	case telemetry.KindOther:
		return !s.sqlite
	}
	return false
}

// isSQLite reports whether a db_system label names SQLite or a fork of it
// ("sqlite", "SQLite", "sqlite3", "libsql"): detected from the driver's
// package, or given by WithDBSystem.
func isSQLite(system string) bool {
	l := strings.ToLower(system)
	return strings.Contains(l, "sqlite") || strings.Contains(l, "libsql")
}
