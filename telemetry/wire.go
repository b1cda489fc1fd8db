package telemetry

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"runtime"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sqltel/sqltel/internal/version"
)

// Wire constants.
const (
	// gzipThreshold: bodies longer than this are gzipped (unless disabled).
	gzipThreshold = 1024
	// maxResponseBody bounds how much of a response body is read.
	maxResponseBody = 1 << 20
	// maxNextRequestWait clamps the collector's next_request_wait_ms.
	maxNextRequestWait = time.Hour
	// gzipLevel trades ratio for speed: the exporter must keep up with
	// hundreds of thousands of events per second on one core.
	gzipLevel = gzip.BestSpeed

	contentTypeJSON   = "application/json"
	contentTypeNDJSON = "application/x-ndjson"
)

// item is an event taken out of the ring into a batch, with the id it keeps
// across every retry.
type item struct {
	ev      Event
	id      [16]byte
	seq     uint64 // ring sequence number, for Flush
	retries uint8  // times the collector answered "retry" for this event
}

// batch is the unit of one request: its request id and created_at stay the
// same across the attempts of the request.
type batch struct {
	items     []item
	requestID string
	createdAt time.Time
	sessionID string
	attempts  int
	reusable  bool // items is newBatch's own array (see Exporter.recycle)
}

// encoder writes request bodies. It reuses its buffers and its gzip.Writer
// from one batch to the next; it is owned by the exporter's goroutine.
type encoder struct {
	format   Format
	compress bool
	raw      []byte
	tail     []byte // NDJSON: the fields folded into every line
	zbuf     bytes.Buffer
	zw       *gzip.Writer

	// Most events of a batch share their host and system (their
	// connection's) and the second they happened in: both are encoded once
	// and copied after.
	host, system string
	source       []byte // `"host":...,"db_system":...`
	second       int64
	secondText   []byte // "2006-01-02T15:04:05"

	inFlight *reqBody // the last body handed to the transport
}

func newEncoder(format Format, compress bool) *encoder {
	return &encoder{format: format, compress: compress}
}

// encode returns the body for b and whether it is gzipped. The returned
// slice is valid until the next call.
func (enc *encoder) encode(b *batch) (body []byte, gzipped bool) {
	if enc.inFlight != nil && !enc.inFlight.closed.Load() {
		// The transport may still be writing the last body (it had an early
		// answer): never overwrite it; start on fresh buffers.
		enc.raw, enc.zbuf = nil, bytes.Buffer{}
		if enc.zw != nil {
			enc.zw.Reset(&enc.zbuf)
		}
	}
	enc.inFlight = nil
	raw := enc.raw[:0]
	switch enc.format {
	case FormatNDJSON:
		tail := enc.tail[:0]
		tail = append(tail, ',')
		tail = appendEnvelope(tail, b)
		tail = append(tail, "}\n"...)
		enc.tail = tail
		for i := range b.items {
			raw = enc.appendEvent(raw, &b.items[i])
			raw = append(raw, tail...)
		}
	default:
		raw = append(raw, '{')
		raw = appendEnvelope(raw, b)
		raw = append(raw, `,"events":[`...)
		for i := range b.items {
			if i > 0 {
				raw = append(raw, ',')
			}
			raw = enc.appendEvent(raw, &b.items[i])
			raw = append(raw, '}')
		}
		raw = append(raw, "]}"...)
	}
	enc.raw = raw
	if !enc.compress || len(raw) <= gzipThreshold {
		return raw, false
	}
	enc.zbuf.Reset()
	if enc.zw == nil {
		enc.zw, _ = gzip.NewWriterLevel(&enc.zbuf, gzipLevel) // the level is valid
	} else {
		enc.zw.Reset(&enc.zbuf)
	}
	enc.zw.Write(raw) // writes to a bytes.Buffer do not fail
	enc.zw.Close()
	return enc.zbuf.Bytes(), true
}

// contentType returns the Content-Type of the encoder's bodies.
func (enc *encoder) contentType() string {
	if enc.format == FormatNDJSON {
		return contentTypeNDJSON
	}
	return contentTypeJSON
}

// appendEnvelope appends the request fields, without braces:
// "request_id":...,"created_at":...,"client":{...}
func appendEnvelope(b []byte, bt *batch) []byte {
	b = append(b, `"request_id":`...)
	b = appendString(b, bt.requestID)
	b = append(b, `,"created_at":"`...)
	b = bt.createdAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","client":{"name":`...)
	b = appendString(b, version.Client)
	b = append(b, `,"version":`...)
	b = appendString(b, version.Version)
	b = append(b, `,"session_id":`...)
	b = appendString(b, bt.sessionID)
	b = append(b, `,"os":`...)
	b = appendString(b, runtime.GOOS)
	b = append(b, `,"arch":`...)
	b = appendString(b, runtime.GOARCH)
	b = append(b, `,"go_version":`...)
	b = appendString(b, runtime.Version())
	return append(b, '}')
}

// appendEvent appends the event object without its closing brace, so that
// NDJSON can fold more fields in.
func (enc *encoder) appendEvent(b []byte, it *item) []byte {
	ev := &it.ev
	b = append(b, `{"id":"`...)
	b = appendHex64(b, binary.BigEndian.Uint64(it.id[:8]))
	b = appendHex64(b, binary.BigEndian.Uint64(it.id[8:]))
	b = append(b, `","type":"statement","time":"`...)
	b = enc.appendTime(b, ev.Time)
	b = append(b, `",`...)
	if enc.source == nil || ev.Host != enc.host || ev.DBSystem != enc.system {
		enc.host, enc.system = ev.Host, ev.DBSystem
		enc.source = append(appendString(append(enc.source[:0], `"host":`...), ev.Host), `,"db_system":`...)
		enc.source = appendString(enc.source, ev.DBSystem)
	}
	b = append(b, enc.source...)
	b = append(b, `,"conn_id":"`...)
	b = appendHex64(b, ev.ConnID)
	b = append(b, `","op":"`...)
	b = append(b, ev.Op.String()...)
	b = append(b, '"')
	if k := ev.Kind.String(); k != "" {
		b = append(b, `,"stmt_kind":"`...)
		b = append(b, k...)
		b = append(b, '"')
	}
	if ev.Fingerprint != 0 {
		b = append(b, `,"fingerprint":"`...)
		b = appendHex64(b, ev.Fingerprint)
		b = append(b, '"')
	}
	b = append(b, `,"latency_us":`...)
	b = strconv.AppendInt(b, ev.Latency.Microseconds(), 10)
	if ev.Total > 0 {
		b = append(b, `,"total_us":`...)
		b = strconv.AppendInt(b, ev.Total.Microseconds(), 10)
	}
	if ev.Rows != -1 {
		b = append(b, `,"rows":`...)
		b = strconv.AppendInt(b, ev.Rows, 10)
	}
	if e := ev.Err.String(); e != "" {
		b = append(b, `,"error":"`...)
		b = append(b, e...)
		b = append(b, '"')
	}
	b = append(b, `,"in_tx":`...)
	b = strconv.AppendBool(b, ev.InTx)
	if ev.SQL != "" {
		b = append(b, `,"sql":`...)
		b = appendString(b, ev.SQL)
	}
	return b
}

const hexDigits = "0123456789abcdef"

// hexPairs holds the two hex digits of every byte value.
var hexPairs = func() (t [512]byte) {
	for i := range 256 {
		t[2*i], t[2*i+1] = hexDigits[i>>4], hexDigits[i&0xf]
	}
	return t
}()

// appendHex64 appends v as exactly 16 lower-case hex digits.
func appendHex64(b []byte, v uint64) []byte {
	var d [16]byte
	for i := 14; i >= 0; i -= 2 {
		d[i], d[i+1] = hexPairs[2*(v&0xff)], hexPairs[2*(v&0xff)+1]
		v >>= 8
	}
	return append(b, d[:]...)
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does; U+2028 and U+2029 are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Per-event results a collector may answer.
const (
	resultOK      = "ok"
	resultWarning = "warning"
	resultRetry   = "retry"
	resultDrop    = "drop"
)

// response is the optional body of a 2xx answer.
type response struct {
	Results map[string]string `json:"results"`
	// NextRequestWaitMS is the least time, in milliseconds, before the next
	// request. A float so that a fractional value is not a malformed body.
	NextRequestWaitMS *float64 `json:"next_request_wait_ms"`
}

// parseResponse parses a 2xx body. An empty body is a valid answer (every
// event ok, no wait). ok is false when the body is not valid JSON.
func parseResponse(body []byte) (resp response, wait time.Duration, ok bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		return response{}, 0, true
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return response{}, 0, false
	}
	if resp.NextRequestWaitMS != nil {
		wait = clampWait(*resp.NextRequestWaitMS, maxNextRequestWait)
	}
	return resp, wait, true
}

// clampWait converts ms to a duration in [0, max].
func clampWait(ms float64, max time.Duration) time.Duration {
	switch {
	case !(ms > 0): // negative, zero or NaN
		return 0
	case ms >= float64(max/time.Millisecond):
		return max
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// appendTime is the package's appendTime, with the date and time of day
// kept from the previous event when it happened in the same second.
func (enc *encoder) appendTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	if enc.secondText == nil || sec != enc.second {
		full := appendTime(b, t)
		// Only the fixed-width form (years 0000-9999) has its fraction at 19.
		if s := full[len(b):]; len(s) >= 20 && (s[19] == '.' || s[19] == 'Z') {
			enc.second, enc.secondText = sec, append(enc.secondText[:0], s[:19]...)
		} else {
			enc.secondText = nil
		}
		return full
	}
	b = append(b, enc.secondText...)
	return appendFraction(b, t.Nanosecond())
}

// appendTime appends t in UTC as RFC 3339 with nanoseconds, trailing zeros
// of the fraction dropped: what time.RFC3339Nano gives, for the years
// 0000-9999, at a tenth of its cost (it runs once per event).
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	hour, mi, sec := t.Clock()
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	return appendFraction(b, t.Nanosecond())
}

// appendFraction appends ".nnnnnnnnn" without its trailing zeros (nothing
// for 0) and the closing "Z".
func appendFraction(b []byte, ns int) []byte {
	if ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}
