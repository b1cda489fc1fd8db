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
// across every retry. It stays in its slot form: the encoder writes it from
// there.
type item struct {
	s       slot
	sql     string // the opt-in statement text, usually ""
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
	tail     []byte // NDJSON: the fields folded into every line
	zw       *gzip.Writer

	// Two sets of body buffers: the transport may report that it is done
	// with a body only after the answer came back, so the next batch,
	// encoded at once when the ring is full, can find the set it used
	// still lent out. It then takes the other.
	bufs [2]bodyBuf
	cur  int // the set the last body was encoded into
	// fresh: never reuse a body's buffers, for a transport that cannot say
	// when it is done with them (a caller's HTTP client, see reqBody).
	fresh bool

	// sources is the ring's interned (host, system) pairs, which slots
	// refer to by index, as the exporter last read them under its lock
	// (see newBatch); never written through.
	sources []source

	// Most events of a batch come from a few statements run on a few
	// connections, and happened in the same second: what those share is
	// encoded once and copied after.
	heads      [headCacheSize]head
	idBase     uint64 // the first half of the last event id
	idBaseHex  []byte // and its hex digits
	ctr        uint64 // the second half of the last event id
	ctrHex     [16]byte
	ctrSet     bool
	second     int64
	secondText []byte // "2006-01-02T15:04:05"
}

// bodyBuf is one set of body buffers.
type bodyBuf struct {
	raw      []byte
	zbuf     bytes.Buffer
	inFlight *reqBody // the body last handed to the transport from here
}

// free reports whether the transport may no longer read the buffers.
func (bb *bodyBuf) free() bool { return bb.inFlight == nil || bb.inFlight.done() }

// lend records that the last encoded body went to the transport as rb.
func (enc *encoder) lend(rb *reqBody) { enc.bufs[enc.cur].inFlight = rb }

func newEncoder(format Format, compress bool) *encoder {
	return &encoder{format: format, compress: compress}
}

// encode returns the body for b and whether it is gzipped. The returned
// slice is valid until the next call.
func (enc *encoder) encode(b *batch) (body []byte, gzipped bool) {
	bb := &enc.bufs[enc.cur]
	if !enc.fresh && !bb.free() {
		if other := &enc.bufs[enc.cur^1]; other.free() {
			enc.cur ^= 1
			bb = other
		}
	}
	if enc.fresh || !bb.free() {
		// A caller's transport cannot say when it is done with a body, and
		// ours may still be writing both sets (it had early answers):
		// never overwrite them; start on fresh buffers.
		bb.raw, bb.zbuf = nil, bytes.Buffer{}
	}
	bb.inFlight = nil
	raw := bb.raw[:0]
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
	bb.raw = raw
	if !enc.compress || len(raw) <= gzipThreshold {
		return raw, false
	}
	bb.zbuf.Reset()
	if enc.zw == nil {
		enc.zw, _ = gzip.NewWriterLevel(&bb.zbuf, gzipLevel) // the level is valid
	} else {
		enc.zw.Reset(&bb.zbuf)
	}
	enc.zw.Write(raw) // writes to a bytes.Buffer do not fail
	enc.zw.Close()
	return bb.zbuf.Bytes(), true
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
// NDJSON can fold more fields in. JSON objects are unordered: the fields an
// event shares with the others of its statement and connection come first,
// as one cached head.
func (enc *encoder) appendEvent(b []byte, it *item) []byte {
	s := &it.s
	b = append(b, enc.head(s)...)
	if base := binary.BigEndian.Uint64(it.id[:8]); base == enc.idBase && enc.idBaseHex != nil {
		b = append(b, enc.idBaseHex...)
	} else {
		b = appendHex64(b, base)
		enc.idBase, enc.idBaseHex = base, append(enc.idBaseHex[:0], b[len(b)-16:]...)
	}
	b = enc.appendCounter(b, binary.BigEndian.Uint64(it.id[8:]))
	b = append(b, `","time":"`...)
	b = enc.appendTime(b, s.sec, s.nsec)
	b = append(b, `","latency_us":`...)
	b = appendInt(b, s.latency.Microseconds())
	if s.total > 0 {
		b = append(b, `,"total_us":`...)
		b = appendInt(b, s.total.Microseconds())
	}
	if s.rows != -1 {
		b = append(b, `,"rows":`...)
		b = appendInt(b, s.rows)
	}
	if e := s.err.String(); e != "" {
		b = append(b, `,"error":"`...)
		b = append(b, e...)
		b = append(b, '"')
	}
	if it.sql != "" {
		b = append(b, `,"sql":`...)
		b = appendString(b, it.sql)
	}
	return b
}

// appendCounter appends v, an event id's counter half, as 16 hex digits.
// The events of a batch have consecutive counters: the digits of the last
// one are counted up in place.
func (enc *encoder) appendCounter(b []byte, v uint64) []byte {
	h := &enc.ctrHex
	if enc.ctrSet && v == enc.ctr+1 {
		for i := len(h) - 1; i >= 0; i-- {
			switch c := h[i]; c {
			case 'f':
				h[i] = '0'
				continue // carry
			case '9':
				h[i] = 'a'
			default:
				h[i] = c + 1
			}
			break
		}
	} else {
		appendHex64(h[:0], v)
		enc.ctrSet = true
	}
	enc.ctr = v
	return append(b, h[:]...)
}

// headCacheBits sets the number of event heads the encoder keeps: a direct
// mapped cache, so a program with more live (statement, connection) pairs
// only re-encodes more often.
const (
	headCacheBits = 6
	headCacheSize = 1 << headCacheBits
)

// head is the start of an event's object up to its id's opening quote:
// every field that its statement and connection decide.
type head struct {
	key  headKey
	text []byte // nil until the entry is first filled
}

type headKey struct {
	connID, fingerprint uint64
	source              uint32
	op                  Op
	kind                Kind
	inTx                bool
}

// head returns the cached head of s's event, encoding it on a miss.
func (enc *encoder) head(s *slot) []byte {
	k := headKey{s.connID, s.fingerprint, s.source, s.op, s.kind, s.inTx}
	h := (k.fingerprint ^ k.connID*0x9e3779b97f4a7c15 ^ uint64(k.op)<<8 ^ uint64(k.source)<<16) * 0xbf58476d1ce4e5b9
	c := &enc.heads[h>>(64-headCacheBits)]
	if c.text != nil && c.key == k {
		return c.text
	}
	src := enc.sources[k.source]
	b := append(c.text[:0], `{"type":"statement","host":`...)
	b = appendString(b, src.host)
	b = append(b, `,"db_system":`...)
	b = appendString(b, src.system)
	b = append(b, `,"conn_id":"`...)
	b = appendHex64(b, k.connID)
	b = append(b, `","op":"`...)
	b = append(b, k.op.String()...)
	b = append(b, '"')
	if kind := k.kind.String(); kind != "" {
		b = append(b, `,"stmt_kind":"`...)
		b = append(b, kind...)
		b = append(b, '"')
	}
	if k.fingerprint != 0 {
		b = append(b, `,"fingerprint":"`...)
		b = appendHex64(b, k.fingerprint)
		b = append(b, '"')
	}
	b = append(b, `,"in_tx":`...)
	b = strconv.AppendBool(b, k.inTx)
	b = append(b, `,"id":"`...)
	*c = head{key: k, text: b}
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
	h := &hexPairs
	return append(b,
		h[2*(v>>56)], h[2*(v>>56)+1], h[2*(v>>48&0xff)], h[2*(v>>48&0xff)+1],
		h[2*(v>>40&0xff)], h[2*(v>>40&0xff)+1], h[2*(v>>32&0xff)], h[2*(v>>32&0xff)+1],
		h[2*(v>>24&0xff)], h[2*(v>>24&0xff)+1], h[2*(v>>16&0xff)], h[2*(v>>16&0xff)+1],
		h[2*(v>>8&0xff)], h[2*(v>>8&0xff)+1], h[2*(v&0xff)], h[2*(v&0xff)+1])
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

// jsonSpace is the whitespace JSON allows around a value; bytes.TrimSpace
// would also take \v, \f and Unicode spaces, which make a body malformed.
const jsonSpace = " \t\r\n"

// parseResponse parses a 2xx body. An empty body is a valid answer (every
// event ok, no wait). ok is false when the body is not valid JSON.
func parseResponse(body []byte) (resp response, wait time.Duration, ok bool) {
	switch string(bytes.Trim(body, jsonSpace)) {
	case "", "{}": // the usual answers: every event ok, no wait
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

// appendTime appends the time of (sec, nsec) as appendTime does, with the
// date and time of day kept from the previous event when it happened in the
// same second.
func (enc *encoder) appendTime(b []byte, sec int64, nsec uint32) []byte {
	if enc.secondText == nil || sec != enc.second {
		full := appendTime(b, time.Unix(sec, int64(nsec)))
		// Only the fixed-width form (years 0000-9999) has its fraction at 19.
		if s := full[len(b):]; len(s) >= 20 && (s[19] == '.' || s[19] == 'Z') {
			enc.second, enc.secondText = sec, append(enc.secondText[:0], s[:19]...)
		} else {
			enc.secondText = nil
		}
		return full
	}
	b = append(b, enc.secondText...)
	return appendFraction(b, nsec)
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
	return appendFraction(b, uint32(t.Nanosecond()))
}

// decimalPairs holds the two decimal digits of 0 to 99 (at 2x and 2x+1);
// 256 long so that a byte index needs no bounds check.
var decimalPairs = func() (t [256]byte) {
	for i := range 100 {
		t[2*i], t[2*i+1] = byte('0'+i/10), byte('0'+i%10)
	}
	return t
}()

// appendFraction appends ".nnnnnnnnn" without its trailing zeros (nothing
// for 0) and the closing "Z". ns is below 1e9.
func appendFraction(b []byte, ns uint32) []byte {
	if ns == 0 {
		return append(b, 'Z')
	}
	hi, lo := ns/100000, ns%100000 // 4 and 5 digits
	a1, a2 := digits2(hi / 100)
	b1, b2 := digits2(hi % 100)
	c1, c2 := digits2(lo % 10000 / 100)
	d1, d2 := digits2(lo % 100)
	b = append(b, '.', a1, a2, b1, b2, byte('0'+lo/10000), c1, c2, d1, d2)
	for b[len(b)-1] == '0' { // ns > 0: stops at a digit before the '.'
		b = b[:len(b)-1]
	}
	return append(b, 'Z')
}

// appendInt appends v in decimal: what strconv.AppendInt does, with the
// values below 100 000 000 (latencies in microseconds up to 100 s, row
// counts) written two digits at a time by fixed-size appends, which compile
// to plain stores.
func appendInt(b []byte, v int64) []byte {
	switch {
	case v < 0 || v >= 100_000_000:
		return strconv.AppendInt(b, v, 10)
	case v < 10:
		return append(b, byte('0'+v))
	case v < 100:
		d1, d2 := digits2(uint32(v))
		return append(b, d1, d2)
	case v < 10_000:
		hi, lo := uint32(v)/100, uint32(v)%100
		l1, l2 := digits2(lo)
		if hi < 10 {
			return append(b, byte('0'+hi), l1, l2)
		}
		h1, h2 := digits2(hi)
		return append(b, h1, h2, l1, l2)
	}
	hi, lo := uint32(v)/10_000, uint32(v)%10_000
	b = appendInt(b, int64(hi))
	a1, a2 := digits2(lo / 100)
	b1, b2 := digits2(lo % 100)
	return append(b, a1, a2, b1, b2)
}

// digits2 returns the two decimal digits of x, below 100.
func digits2(x uint32) (byte, byte) {
	i := uint8(2 * x)
	return decimalPairs[i], decimalPairs[i+1]
}
