package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Per-event results sent back in the "results" object of POST /v1/events.
// The protocol also has "retry", which this collector never sends per event:
// a storage error fails the whole batch with 503 instead.
const (
	resultOK      = "ok"      // stored, or already stored by an earlier attempt
	resultWarning = "warning" // stored, but a descriptive field was normalised
	resultDrop    = "drop"    // invalid: not stored, and resending it will not help
)

// Field limits. They keep a misbehaving client from filling the store with
// arbitrary text, which could otherwise smuggle SQL or values into it.
const (
	maxHostLen     = 255
	maxDBSystemLen = 64
	// maxKeyLen bounds a malformed id echoed as a results key: a client
	// mistake is still recognisable, and with at most MaxBatchEvents events
	// the results stay a few megabytes whatever the ids' length.
	maxKeyLen = 64
	// maxLatencyUS is one year: anything above is a client bug, and the cap
	// keeps the histogram arithmetic far from int64 overflow.
	maxLatencyUS = int64(366 * 24 * time.Hour / time.Microsecond)
)

var validOps = map[string]bool{
	"connect": true, "ping": true, "exec": true, "query": true, "prepare": true,
	"stmt_exec": true, "stmt_query": true, "begin": true, "commit": true,
	"rollback": true, "close": true,
}

var validKinds = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true,
	"DDL": true, "BEGIN": true, "OTHER": true,
}

var validErrs = map[string]bool{
	"canceled": true, "deadline": true, "bad_conn": true,
	"constraint": true, "syntax": true, "other": true,
}

// batch is the JSON body of POST /v1/events. Unknown fields are ignored.
// Events stay raw so that one malformed event is dropped on its own instead
// of failing the whole batch.
type batch struct {
	RequestID string `json:"request_id"`
	CreatedAt string `json:"created_at"`
	Client    struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		SessionID string `json:"session_id"`
		OS        string `json:"os"`
		Arch      string `json:"arch"`
		GoVersion string `json:"go_version"`
	} `json:"client"`
	Events *eventList `json:"events"`
}

// eventList is the events array of a batch, one raw message per event.
type eventList []json.RawMessage

// UnmarshalJSON counts the events before decoding them, so that a batch of
// many tiny events is refused before it costs a slice and a result each.
// The decoder has already checked that data is valid JSON.
func (l *eventList) UnmarshalJSON(data []byte) error {
	if len(data) == 0 || data[0] != '[' {
		return fmt.Errorf("%w: \"events\" is not an array", errBadBody)
	}
	if n := countElements(data); n > MaxBatchEvents {
		return tooManyEvents(n)
	}
	return json.Unmarshal(data, (*[]json.RawMessage)(l))
}

// countElements returns the number of elements of the valid JSON array
// data: one more than its commas outside nested values and strings.
func countElements(data []byte) int {
	if bytes.Equal(bytes.TrimSpace(data[1:]), []byte("]")) {
		return 0
	}
	n, depth, inString, escaped := 1, 0, false, false
	for _, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// wireEvent is one event as sent by the client. Pointers mark the fields
// whose absence means something different from their zero value.
type wireEvent struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Time        string `json:"time"`
	Host        string `json:"host"`
	DBSystem    string `json:"db_system"`
	ConnID      string `json:"conn_id"`
	Op          string `json:"op"`
	StmtKind    string `json:"stmt_kind"`
	Fingerprint string `json:"fingerprint"`
	LatencyUS   *int64 `json:"latency_us"`
	Rows        *int64 `json:"rows"`
	Error       string `json:"error"`
	InTx        bool   `json:"in_tx"`
}

// event is a validated event, exactly what the store holds. Absent optional
// strings are "", unknown rows is RowsKnown == false.
type event struct {
	ID          string // 32 lower-case hex digits
	TimeNS      int64  // Unix nanoseconds, UTC
	Host        string
	DBSystem    string
	ConnID      string // 16 lower-case hex digits
	Op          string
	StmtKind    string
	Fingerprint string // 16 lower-case hex digits or ""
	LatencyUS   int64
	Rows        int64
	RowsKnown   bool
	Error       string
	InTx        bool
}

// checked is the outcome of validating one raw event.
type checked struct {
	key    string // results key: the id as sent, or "#<index>" without a usable id
	status string // resultOK, resultWarning or resultDrop
	reason string // why it is not ok; "" when ok
	ev     event  // valid unless status == resultDrop
}

// checkEvent decodes and validates the index-th raw event of a batch.
func checkEvent(index int, raw json.RawMessage) checked {
	var w wireEvent
	decErr := json.Unmarshal(raw, &w)
	// Unmarshal keeps filling the other fields after a type error, so the id
	// is usually still available to name the dropped event.
	c := checked{key: w.ID}
	if c.key == "" || len(c.key) > maxKeyLen {
		c.key = "#" + strconv.Itoa(index)
	}
	drop := func(format string, args ...any) checked {
		c.status, c.reason = resultDrop, fmt.Sprintf(format, args...)
		return c
	}
	if decErr != nil {
		var te *json.UnmarshalTypeError
		if errors.As(decErr, &te) {
			return drop("field %q: cannot use JSON %s as %s", te.Field, te.Value, te.Type)
		}
		return drop("not a JSON object: %v", decErr)
	}
	if !isHex(w.ID, 32) {
		return drop("id must be 32 hex digits")
	}
	if w.Type != "statement" {
		return drop("unknown type %q", truncate(w.Type, 32))
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return drop("time must be RFC 3339")
	}
	if y := t.Year(); y < 1970 || y > 2261 { // UnixNano is defined for 1678..2262
		return drop("time out of range")
	}
	if !validHost(w.Host) {
		return drop("host must be 1..%d bytes of printable UTF-8", maxHostLen)
	}
	if !isHex(w.ConnID, 16) {
		return drop("conn_id must be 16 hex digits")
	}
	if !validOps[w.Op] {
		return drop("unknown op %q", truncate(w.Op, 32))
	}
	if w.Fingerprint != "" && !isHex(w.Fingerprint, 16) {
		return drop("fingerprint must be 16 hex digits")
	}
	if w.LatencyUS == nil {
		return drop("latency_us is missing")
	}
	if *w.LatencyUS < 0 || *w.LatencyUS > maxLatencyUS {
		return drop("latency_us out of range")
	}

	c.status = resultOK
	c.ev = event{
		ID:          strings.ToLower(w.ID),
		TimeNS:      t.UnixNano(),
		Host:        w.Host,
		ConnID:      strings.ToLower(w.ConnID),
		Op:          w.Op,
		Fingerprint: strings.ToLower(w.Fingerprint),
		LatencyUS:   *w.LatencyUS,
		InTx:        w.InTx,
	}
	var warnings []string
	warn := func(format string, args ...any) {
		c.status = resultWarning
		warnings = append(warnings, fmt.Sprintf(format, args...))
	}
	// Descriptive fields with values this collector does not know (a newer
	// client, say) are kept in a normalised form rather than lost.
	if ds := strings.ToLower(w.DBSystem); isDBSystem(ds) {
		c.ev.DBSystem = ds
	} else {
		warn("db_system not stored: must be 1..%d of [a-z0-9._-]", maxDBSystemLen)
	}
	switch {
	case w.StmtKind == "" || validKinds[w.StmtKind]:
		c.ev.StmtKind = w.StmtKind
	default:
		c.ev.StmtKind = "OTHER"
		warn("unknown stmt_kind %q stored as OTHER", truncate(w.StmtKind, 32))
	}
	switch {
	case w.Error == "" || validErrs[w.Error]:
		c.ev.Error = w.Error
	default:
		c.ev.Error = "other"
		warn("unknown error %q stored as other", truncate(w.Error, 32))
	}
	if w.Rows != nil {
		if *w.Rows >= 0 {
			c.ev.Rows, c.ev.RowsKnown = *w.Rows, true
		} else {
			warn("negative rows stored as unknown")
		}
	}
	c.reason = strings.Join(warnings, "; ")
	return c
}

// errBadBody is wrapped by every decoding error that is the client's fault.
var errBadBody = errors.New("malformed body")

// errTooManyEvents is wrapped by the error for a batch of more than
// MaxBatchEvents events; the answer is 413, which makes the client split it.
var errTooManyEvents = errors.New("too many events")

func tooManyEvents(n int) error {
	return fmt.Errorf("%w: %d in one batch, at most %d", errTooManyEvents, n, MaxBatchEvents)
}

// parseJSONBody parses an application/json batch.
func parseJSONBody(data []byte) (*batch, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var b batch
	if err := dec.Decode(&b); err != nil {
		if errors.Is(err, errTooManyEvents) || errors.Is(err, errBadBody) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errBadBody, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the batch object", errBadBody)
	}
	if b.Events == nil {
		return nil, fmt.Errorf("%w: missing \"events\" array", errBadBody)
	}
	return &b, nil
}

// parseNDJSONBody parses an application/x-ndjson body: one event object per
// line, blank lines ignored. It has no envelope, so the request id comes from
// the Sqltel-Request-Id header.
func parseNDJSONBody(data []byte) (*batch, error) {
	// Counted first, so that a body of many tiny lines is refused before it
	// costs a slice and a result each. Blank lines do not count.
	lines := 0
	for line := range bytes.Lines(data) {
		if len(bytes.TrimSpace(line)) != 0 {
			lines++
		}
	}
	if lines > MaxBatchEvents {
		return nil, tooManyEvents(lines)
	}
	events := make(eventList, 0, lines)
	n := 0
	for line := range bytes.Lines(data) {
		n++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return nil, fmt.Errorf("%w: line %d is not valid JSON", errBadBody, n)
		}
		events = append(events, json.RawMessage(line))
	}
	return &batch{Events: &events}, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// validHost reports whether h may be stored as a host: 1 to maxHostLen bytes
// of printable UTF-8. PostgreSQL refuses invalid UTF-8 and NUL in text, so a
// host filter is checked the same way before it reaches the database.
func validHost(h string) bool {
	return h != "" && len(h) <= maxHostLen && isPrintable(h)
}

// isPrintable reports whether s is valid UTF-8 without control characters.
func isPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// isDBSystem reports whether s may be stored as a db_system ("" may).
func isDBSystem(s string) bool {
	if len(s) > maxDBSystemLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// truncate shortens s for an error message so that a client cannot make the
// collector echo or log a large value.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
