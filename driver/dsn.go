package driver

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sqltel/sqltel/telemetry"
)

// DSNError reports an invalid sqltel parameter in a DSN. It names the
// parameter, and the offending value except for telemetry_token (a secret)
// and values that may have swallowed other DSN text; it never quotes the DSN,
// which may hold a password.
type DSNError struct {
	Param  string // the parameter as written, e.g. "telemetry_batch_size"
	Reason string // what is wrong, e.g. `"abc" is not an integer`
}

// Error returns "sqltel: DSN parameter <Param>: <Reason>".
func (e *DSNError) Error() string {
	return "sqltel: DSN parameter " + e.Param + ": " + e.Reason
}

// paramSet records which parameters a DSN gave, so that the connector can
// tell "not given" (keep the option's or the default value) from an explicit
// zero or false.
type paramSet uint16

const (
	setMode paramSet = 1 << iota
	setEndpoint
	setHost
	setToken
	setInsecure
	setBufferSize
	setBatchSize
	setFlushInterval
	setShutdownTimeout
	setFormat
	setSQL
	setGzip
)

// params holds sqltel's DSN parameters. A field is meaningful only if its
// bit is in set; enumerated values are lower-cased.
type params struct {
	set             paramSet
	mode            string // telemetry: "off", "on" or "force"
	endpoint        string // telemetry_endpoint: absolute http(s) URL with a host
	host            string // telemetry_host: host key override, lower-cased
	token           string // telemetry_token
	insecure        bool   // telemetry_insecure
	bufferSize      int    // telemetry_buffer_size: 1..telemetry.MaxBufferSize
	batchSize       int    // telemetry_batch_size: 1..10_000
	flushInterval   time.Duration
	shutdownTimeout time.Duration
	format          string // telemetry_format: "json" or "ndjson"
	sql             string // telemetry_sql: "off" or "normalized"
	gzip            bool   // telemetry_gzip
}

// has reports whether the DSN gave the parameter s.
func (p *params) has(s paramSet) bool { return p.set&s != 0 }

// paramSpec describes one parameter: its bit and how to parse its value
// into p, returning a DSNError reason or "".
type paramSpec struct {
	bit   paramSet
	parse func(p *params, v string) string
}

// paramSpecs lists every parameter sqltel reads. All names start with
// "telemetry", which is how a key is recognised as sqltel's.
var paramSpecs = map[string]paramSpec{
	"telemetry": {setMode, func(p *params, v string) string {
		return oneOf(&p.mode, v, "off", "on", "force")
	}},
	"telemetry_endpoint": {setEndpoint, func(p *params, v string) string {
		p.endpoint = v
		return checkEndpoint(v)
	}},
	"telemetry_host": {setHost, func(p *params, v string) string {
		if v == "" || len(v) > 255 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return showValue(v) + " is not a host name"
		}
		p.host = strings.ToLower(v)
		return ""
	}},
	"telemetry_token": {setToken, func(p *params, v string) string {
		// The value is a secret: no reason may quote it.
		if v == "" {
			return "is empty"
		}
		// It is sent in a header: visible ASCII only, as Config.Validate
		// requires.
		if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return "holds a character an HTTP header cannot carry (only visible ASCII, no spaces)"
		}
		p.token = v
		return ""
	}},
	"telemetry_insecure": {setInsecure, func(p *params, v string) string {
		return parseBool(&p.insecure, v)
	}},
	"telemetry_buffer_size": {setBufferSize, func(p *params, v string) string {
		return parseInt(&p.bufferSize, v, 1, telemetry.MaxBufferSize)
	}},
	"telemetry_batch_size": {setBatchSize, func(p *params, v string) string {
		return parseInt(&p.batchSize, v, 1, 10_000)
	}},
	"telemetry_flush_interval": {setFlushInterval, func(p *params, v string) string {
		return parseDuration(&p.flushInterval, v, 100*time.Millisecond, time.Hour)
	}},
	"telemetry_shutdown_timeout": {setShutdownTimeout, func(p *params, v string) string {
		// 0 is refused rather than read as "no flush": the exporter takes a
		// zero budget as its default.
		return parseDuration(&p.shutdownTimeout, v, time.Millisecond, 5*time.Minute)
	}},
	"telemetry_format": {setFormat, func(p *params, v string) string {
		return oneOf(&p.format, v, "json", "ndjson")
	}},
	"telemetry_sql": {setSQL, func(p *params, v string) string {
		return oneOf(&p.sql, v, "off", "normalized")
	}},
	"telemetry_gzip": {setGzip, func(p *params, v string) string {
		return parseBool(&p.gzip, v)
	}},
}

// knownParams is the list an unknown-parameter error offers.
const knownParams = "telemetry, telemetry_endpoint, telemetry_host, telemetry_token, " +
	"telemetry_insecure, telemetry_buffer_size, telemetry_batch_size, telemetry_flush_interval, " +
	"telemetry_shutdown_timeout, telemetry_format, telemetry_sql, telemetry_gzip"

// isOurs reports whether a DSN key is sqltel's: "telemetry" or
// "telemetry_...", in any case. Claiming the whole prefix is what lets a
// misspelt parameter be reported instead of reaching the inner driver (pgx
// would send it to the server as a run-time parameter).
func isOurs(key string) bool {
	const prefix = "telemetry"
	if len(key) < len(prefix) || !strings.EqualFold(key[:len(prefix)], prefix) {
		return false
	}
	return len(key) == len(prefix) || key[len(prefix)] == '_'
}

// parseDSN splits dsn into the DSN for the inner driver and sqltel's
// parameters.
//
// The parameters are removed by splicing: every other byte of dsn reaches
// the inner driver unchanged, never re-encoded. A parameter goes together
// with the '&' (or, in keyword/value form, the whitespace) that separates it
// from its neighbours, and a '?' left with nothing after it goes too. Four
// forms are understood, tried in this order:
//
//   - URLs, scheme://[userinfo@]host/path?k=v&k=v (postgres://, mysql://,
//     any scheme). As in libpq and pgx, the userinfo ends at the first '@'
//     before any '/', so a password may hold '?', '&', '=' and ':' but must
//     percent-encode '@' and '/'; the query starts at the next '?'. Where
//     that reading leaves a host with neither path nor query after a '?',
//     the DSN is read as net/url reads it (see urlHostStart). '#' has no
//     special meaning.
//   - libpq keyword/value strings, host=h port=5432 telemetry=on: the DSN
//     starts with a keyword and '='. Values may be single-quoted, with
//     backslash escapes, exactly as pgx and libpq read them.
//   - Everything else, <anything>?k=v&k=v: go-sql-driver/mysql DSNs
//     (user:pass@tcp(host:3306)/db?k=v), SQLite file names and URIs
//     (file:app.db?cache=shared). As go-sql-driver/mysql does, the
//     parameters start at the first '?' after the last '/', so a password
//     may hold any byte. Only if that finds none, because a parameter value
//     holds an unescaped '/' (telemetry_endpoint=https://...), do they start
//     at the first '?' after the last '/' that precedes the last '?'.
//
// In the query forms keys and values are percent-decoded (%XX only: '+' is
// a plus sign, not a space, as in libpq). In keyword/value form they are
// taken as pgx takes them. Parameter names match in any case; a repeated
// parameter, an unknown name starting with "telemetry_" and an invalid value
// are *DSNError errors. Whether a plain http endpoint is allowed depends on
// telemetry_insecure and on options given in code, so it is checked where
// they meet, not here.
func parseDSN(dsn string) (inner string, p params, err error) {
	switch {
	case isURL(dsn):
		inner, p, err = parseQueryForm(dsn, urlQueryStart(dsn))
	case isKeywordValue(dsn):
		inner, p, err = parseKeywordValue(dsn)
	default:
		inner, p, err = parseQueryForm(dsn, queryStart(dsn))
	}
	if err == nil {
		err = p.check()
	}
	if err != nil {
		return "", params{}, err
	}
	return inner, p, nil
}

// check finds what no single parameter shows: a batch larger than the
// buffer it is taken from.
func (p *params) check() error {
	if p.has(setBatchSize) && p.has(setBufferSize) && p.batchSize > p.bufferSize {
		return &DSNError{Param: "telemetry_batch_size", Reason: strconv.Itoa(p.batchSize) +
			" is larger than telemetry_buffer_size (" + strconv.Itoa(p.bufferSize) + ")"}
	}
	return nil
}

// isURL reports whether dsn starts with scheme:// (RFC 3986 scheme syntax).
func isURL(dsn string) bool {
	for i := 0; i < len(dsn); i++ {
		c := dsn[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.HasPrefix(dsn[i:], "://")
		default:
			return false
		}
	}
	return false
}

// urlQueryStart returns the index of the '?' that starts a URL's query, or
// -1: the first '?' after the userinfo (see urlHostStart).
func urlQueryStart(dsn string) int {
	rest := urlHostStart(dsn)
	if i := strings.IndexByte(dsn[rest:], '?'); i >= 0 {
		return rest + i
	}
	return -1
}

// urlHostStart returns the index just past a URL DSN's userinfo: past the
// '@' that ends it, or past "://" when there is none.
//
// libpq and pgx end the userinfo at the first '@' before any '/', so a
// password may hold '?'; net/url (lib/pq, go-mssqldb, clickhouse-go) ends
// the authority at the first '/' or '?' first, so a query may hold '@'. The
// two disagree only when a '?' comes before that '@'. libpq's reading is
// taken, unless it would leave nothing after the '@' but a host with no
// path and no query ("postgres://h?user=app@tenant&telemetry=on" would
// have the host "tenant&telemetry=on") and a bare host comes before the
// '?': that DSN is read as net/url reads it, a host and a query holding an
// '@'.
func urlHostStart(dsn string) int {
	start := strings.Index(dsn, "://") + 3
	i := strings.IndexAny(dsn[start:], "@/")
	if i < 0 || dsn[start+i] != '@' {
		return start
	}
	at := start + i
	// Only a bare host before the '?' makes it net/url's reading. A
	// password holding '?' follows "user:", and "app:6000?x@db" could be
	// either a port or such a password: read as a host, it would put user
	// information into the host key, which leaves the process. There the
	// DSN keeps libpq's reading, and a lib/pq user gets the server's error
	// for the unknown parameters rather than a silent leak.
	if q := strings.IndexByte(dsn[start:at], '?'); q > 0 && !strings.ContainsAny(dsn[start:start+q], ":@") && !strings.ContainsAny(dsn[at+1:], "/?") {
		return start
	}
	return at + 1
}

// queryStart returns the index of the '?' that starts the parameters of a
// DSN that is neither a URL nor keyword/value, or -1 (see parseDSN).
func queryStart(dsn string) int {
	slash := strings.LastIndexByte(dsn, '/')
	if i := strings.IndexByte(dsn[slash+1:], '?'); i >= 0 {
		return slash + 1 + i
	}
	last := strings.LastIndexByte(dsn, '?')
	if last < 0 {
		return -1
	}
	slash = strings.LastIndexByte(dsn[:last], '/')
	return slash + 1 + strings.IndexByte(dsn[slash+1:], '?')
}

// parseQueryForm strips sqltel's parameters from the '&'-separated query
// that starts after dsn[q] (q < 0: there is none).
func parseQueryForm(dsn string, q int) (string, params, error) {
	var p params
	if q < 0 {
		return dsn, p, nil
	}
	query := dsn[q+1:]
	var kept []string
	removed := false
	for seg := range strings.SplitSeq(query, "&") {
		rawKey, rawVal, _ := strings.Cut(seg, "=")
		key, kerr := url.PathUnescape(rawKey)
		if kerr != nil {
			key = rawKey
		}
		if !isOurs(key) {
			kept = append(kept, seg)
			continue
		}
		removed = true
		val, verr := url.PathUnescape(rawVal)
		if verr != nil {
			reason := showValue(rawVal) + " has an invalid percent-encoding"
			if spec, ok := paramSpecs[strings.ToLower(key)]; ok && spec.bit == setToken {
				reason = "has an invalid percent-encoding"
			}
			return "", params{}, &DSNError{Param: paramName(key), Reason: reason}
		}
		if err := p.apply(key, val); err != nil {
			return "", params{}, err
		}
	}
	if !removed {
		return dsn, p, nil
	}
	rest := strings.Join(kept, "&")
	if rest == "" {
		return dsn[:q], p, nil
	}
	return dsn[:q+1] + rest, p, nil
}

// apply parses one of sqltel's parameters into p.
func (p *params) apply(key, val string) error {
	name := strings.ToLower(key)
	spec, ok := paramSpecs[name]
	if !ok {
		return &DSNError{Param: paramName(key), Reason: "unknown parameter (known: " + knownParams + ")"}
	}
	if p.has(spec.bit) {
		return &DSNError{Param: name, Reason: "given more than once"}
	}
	if reason := spec.parse(p, val); reason != "" {
		return &DSNError{Param: name, Reason: reason}
	}
	p.set |= spec.bit
	return nil
}

// paramName bounds an unknown key for an error message: it is text from the
// DSN, and a mangled DSN could make it long.
func paramName(key string) string {
	if len(key) > 64 {
		return strconv.Quote(key[:64]) + "..."
	}
	return key
}

// showValue quotes a value for an error message. A value holding
// whitespace, '=', '@' or '&' may have swallowed other DSN text (in
// keyword/value form "telemetry= password=x" gives telemetry the value
// "password=x", as libpq would), so it is described, not shown.
func showValue(v string) string {
	if strings.ContainsAny(v, " \t\r\n\f\v=@&") || len(v) > 256 {
		return "the value (not shown: it may hold other DSN text)"
	}
	return strconv.Quote(v)
}

func oneOf(dst *string, v string, allowed ...string) string {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			*dst = a
			return ""
		}
	}
	return showValue(v) + " is not one of " + strings.Join(allowed, ", ")
}

func parseBool(dst *bool, v string) string {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return showValue(v) + " is not a boolean"
	}
	*dst = b
	return ""
}

func parseInt(dst *int, v string, lo, hi int) string {
	n, err := strconv.Atoi(v)
	if err != nil {
		return showValue(v) + " is not an integer"
	}
	if n < lo || n > hi {
		return showValue(v) + " is out of range [" + strconv.Itoa(lo) + ", " + strconv.Itoa(hi) + "]"
	}
	*dst = n
	return ""
}

func parseDuration(dst *time.Duration, v string, lo, hi time.Duration) string {
	d, err := time.ParseDuration(v)
	if err != nil {
		return showValue(v) + ` is not a duration (like "500ms" or "10s")`
	}
	if d < lo || d > hi {
		return showValue(v) + " is out of range [" + lo.String() + ", " + hi.String() + "]"
	}
	*dst = d
	return ""
}

// checkEndpoint returns why v is not a usable collector base URL, or "".
func checkEndpoint(v string) string {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return showValue(v) + " is not an absolute http or https URL"
	}
	if u.User != nil {
		// Never quote it: the user info may be a password.
		return "must not hold user information (put a token in telemetry_token)"
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return showValue(v) + " is not an http or https URL"
	}
	if u.Hostname() == "" {
		return showValue(v) + " has no host"
	}
	// A bare '#' leaves u.Fragment empty: look for the byte.
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(v, "#") {
		return showValue(v) + " has a query or a fragment; give the collector's base URL"
	}
	return ""
}

// isKeywordValue reports whether dsn is a libpq keyword/value string: after
// optional whitespace, a keyword of letters, digits and '_', optional
// whitespace and '='.
func isKeywordValue(dsn string) bool {
	i := skipSpace(dsn, 0)
	start := i
	for i < len(dsn) && (isAlnum(dsn[i]) || dsn[i] == '_') {
		i++
	}
	if i == start {
		return false
	}
	i = skipSpace(dsn, i)
	return i < len(dsn) && dsn[i] == '='
}

// kvToken is one keyword=value pair of a keyword/value DSN: the span
// dsn[start:end] from the keyword to the end of the value, and the decoded
// parts.
type kvToken struct {
	start, end int
	key, val   string
}

// parseKeywordValue strips sqltel's parameters from a keyword/value DSN.
// Whitespace goes with a removed pair as libpq separates pairs: the run
// before it, or after it when it comes first, so that removing the pairs
// sqltel inserted anywhere gives back the DSN they were inserted into.
func parseKeywordValue(dsn string) (string, params, error) {
	var p params
	toks := scanKeywordValue(dsn)
	ours := 0
	for _, t := range toks {
		if isOurs(t.key) {
			ours++
			if err := p.apply(t.key, t.val); err != nil {
				return "", params{}, err
			}
		}
	}
	if ours == 0 {
		return dsn, p, nil
	}
	var b strings.Builder
	b.Grow(len(dsn))
	b.WriteString(dsn[:toks[0].start]) // leading whitespace
	prevEnd := -1                      // end of the last kept pair
	for i, t := range toks {
		if isOurs(t.key) {
			continue
		}
		if prevEnd >= 0 {
			b.WriteString(dsn[toks[i-1].end:t.start]) // the whitespace just before it
		}
		b.WriteString(dsn[t.start:t.end])
		prevEnd = t.end
	}
	tail := dsn[toks[len(toks)-1].end:] // trailing whitespace, or text not parsed
	if prevEnd < 0 {
		tail = strings.TrimLeft(tail, " \t\n\r\v\f") // nothing kept: no separator needed
	}
	b.WriteString(tail)
	return b.String(), p, nil
}

// scanKeywordValue splits dsn into pairs exactly as pgx's
// parseKeywordValueSettings does (libpq's rules), stopping silently at the
// first syntax error: the inner driver will report it, and sqltel leaves the
// rest of the DSN alone.
func scanKeywordValue(dsn string) []kvToken {
	var toks []kvToken
	i := skipSpace(dsn, 0)
	for i < len(dsn) {
		eq := strings.IndexByte(dsn[i:], '=')
		if eq < 0 {
			break
		}
		key := strings.TrimRight(dsn[i:i+eq], " \t\n\r\v\f")
		if key == "" || strings.ContainsAny(key, " \t\n\r\v\f") {
			break
		}
		j := skipSpace(dsn, i+eq+1)
		var raw string
		var end int
		switch {
		case j == len(dsn):
			end = j
		case dsn[j] != '\'':
			end = j
			for end < len(dsn) && !isSpace(dsn[end]) {
				if dsn[end] == '\\' {
					end++
				}
				end++
			}
			end = min(end, len(dsn))
			raw = dsn[j:end]
		default:
			end = j + 1
			for end < len(dsn) && dsn[end] != '\'' {
				if dsn[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(dsn) {
				return toks // unterminated quote
			}
			raw = dsn[j+1 : end]
			end++ // the closing quote
		}
		toks = append(toks, kvToken{start: i, end: end, key: key, val: unescapeKeywordValue(raw)})
		i = skipSpace(dsn, end)
	}
	return toks
}

// unescapeKeywordValue applies libpq's backslash rule: a backslash is
// dropped and the byte after it taken literally.
func unescapeKeywordValue(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			if i == len(s) {
				break
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
