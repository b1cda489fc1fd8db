package telemetry

import "time"

// Op is the database/sql operation an Event describes.
type Op uint8

// The operations a wrapped connection reports. The zero value is OpUnknown so
// that a forgotten assignment is visible in the data rather than looking like
// a real operation.
const (
	OpUnknown Op = iota
	OpConnect
	OpPing
	OpExec
	OpQuery
	OpPrepare
	OpStmtExec
	OpStmtQuery
	OpBegin
	OpCommit
	OpRollback
	OpClose
)

var opNames = [...]string{
	OpUnknown:   "unknown",
	OpConnect:   "connect",
	OpPing:      "ping",
	OpExec:      "exec",
	OpQuery:     "query",
	OpPrepare:   "prepare",
	OpStmtExec:  "stmt_exec",
	OpStmtQuery: "stmt_query",
	OpBegin:     "begin",
	OpCommit:    "commit",
	OpRollback:  "rollback",
	OpClose:     "close",
}

// String returns the wire name of the operation.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// Kind is the statement kind, taken from the statement's leading keyword.
type Kind uint8

// Statement kinds. KindNone is used for operations that carry no statement
// (connect, ping, commit...).
const (
	KindNone Kind = iota
	KindSelect
	KindInsert
	KindUpdate
	KindDelete
	KindDDL
	KindBegin
	KindOther
)

var kindNames = [...]string{
	KindNone:   "",
	KindSelect: "SELECT",
	KindInsert: "INSERT",
	KindUpdate: "UPDATE",
	KindDelete: "DELETE",
	KindDDL:    "DDL",
	KindBegin:  "BEGIN",
	KindOther:  "OTHER",
}

// String returns the wire name of the kind ("" for KindNone).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "OTHER"
}

// ErrCategory is the coarse class of an operation's error. The error message
// itself never leaves the process: it may hold values or schema names.
type ErrCategory uint8

// Error categories: a small fixed set so that the collector can aggregate.
const (
	ErrNone ErrCategory = iota
	ErrCanceled
	ErrDeadline
	ErrBadConn
	ErrConstraint
	ErrSyntax
	ErrOther
)

var errNames = [...]string{
	ErrNone:       "",
	ErrCanceled:   "canceled",
	ErrDeadline:   "deadline",
	ErrBadConn:    "bad_conn",
	ErrConstraint: "constraint",
	ErrSyntax:     "syntax",
	ErrOther:      "other",
}

// String returns the wire name of the category ("" for ErrNone).
func (e ErrCategory) String() string {
	if int(e) < len(errNames) {
		return errNames[e]
	}
	return "other"
}

// Event is one recorded operation. It is a plain value with no pointers
// besides its strings, which are shared (host key, db system), so recording
// one copies it into the ring buffer without allocating.
//
// An Event never holds argument values or error messages, and holds no SQL
// text unless the program opted into normalised text (SQL): by default only
// the fingerprint, the kind and the error category describe the statement.
type Event struct {
	Time        time.Time
	Host        string        // normalised host key
	DBSystem    string        // "postgresql", "mysql", "sqlite", ... or "" when unknown
	ConnID      uint64        // random per connection
	Fingerprint uint64        // 0 when the operation has no statement
	Latency     time.Duration // until the driver answered (for a query: the first result)
	Total       time.Duration // for a query: until its rows were closed; 0 otherwise
	Rows        int64         // -1 when unknown
	Op          Op
	Kind        Kind
	Err         ErrCategory
	InTx        bool

	// SQL is the statement with every literal replaced by '?' and comments
	// removed. It is empty unless the program opted in (DSN
	// telemetry_sql=normalized); by default no statement text is recorded.
	SQL string
}

// Recorder receives events. Implementations must not block and must be safe
// for concurrent use: Record is called on the query path.
type Recorder interface {
	Record(Event)
}

// RecorderFunc adapts a function to a Recorder.
type RecorderFunc func(Event)

// Record calls f(ev).
func (f RecorderFunc) Record(ev Event) { f(ev) }
