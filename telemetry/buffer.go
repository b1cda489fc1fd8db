package telemetry

import (
	"time"
	"unsafe"
)

// ring is a bounded FIFO of events that overwrites its oldest event when
// full. It is not safe for concurrent use: the Exporter guards it with its
// mutex.
//
// Events are stored as pointer-free slots: a ring of 10 000 Events would
// hold 40 000 pointers (the time's location, the host, the system, the text)
// that the garbage collector would scan at every cycle of the application's
// heap. The strings are interned instead (an event's host and system are its
// connection's own, so a few pairs serve every event), and the opt-in
// statement text, the one pointer left, lives in a side array made only when
// first needed.
//
// On unix the slots are mapped memory outside the Go heap, all of the
// capacity at once (see allocSlots). Elsewhere they are on the heap and grow
// by doubling up to the capacity: with a collector that keeps up, a few
// batches are all the ring ever holds, and a program with a small heap would
// otherwise collect garbage more often for the sake of an empty buffer.
type ring struct {
	buf  []slot
	free func() // gives buf back
	max  int    // capacity
	head int    // index of the oldest event
	n    int    // number of events held
	// pushed counts every event ever pushed. The oldest event held has the
	// sequence number pushed-n; Flush uses sequence numbers to know when
	// what was buffered at its call has left the buffer.
	pushed uint64

	sources []source       // interned (host, system) pairs; never shrinks
	index   map[source]int // position in sources
	// last and prev are the pairs the last two pushes of different pairs
	// used (-1 for none): one for a program's connections to one database,
	// two for a primary's and a replica's sharing the exporter, are found
	// without hashing.
	last, prev int
	sql        []string // statement texts by slot, nil until one is pushed
}

type source struct{ host, system string }

// slot is an Event without pointers.
type slot struct {
	sec         int64  // Unix seconds and nanoseconds: UnixNano would not
	nsec        uint32 // hold times outside 1678-2262, the zero Time included
	source      uint32 // index in ring.sources
	connID      uint64
	fingerprint uint64
	latency     time.Duration
	total       time.Duration
	rows        int64
	op          Op
	kind        Kind
	err         ErrCategory
	inTx        bool
}

// initialSlots is what a ring starts with (capacity permitting): a few
// default batches.
const initialSlots = 1024

func newRing(capacity int) ring { return newRingOn(capacity, allocSlots) }

// newRingOn is newRing with its first slots from alloc (tests).
func newRingOn(capacity int, alloc func(n int) ([]slot, func())) ring {
	n := capacity
	if !offHeap {
		n = min(capacity, initialSlots)
	}
	buf, free := alloc(n)
	return ring{buf: buf, free: free, max: capacity, index: map[source]int{}, last: -1, prev: -1}
}

// release gives the slots back. The ring must not be used after: the
// exporter calls it once closed, when Record no longer pushes.
func (r *ring) release() {
	r.clear()
	free := r.free
	r.buf, r.sql, r.free, r.max = nil, nil, func() {}, 0
	free()
}

// intern returns the position of ev's (host, system) pair. push checks
// the pairs the previous pushes used first: the usual hit.
func (r *ring) intern(host, system string) uint32 {
	k := source{host, system}
	i, ok := r.index[k]
	if !ok {
		i = len(r.sources)
		r.sources = append(r.sources, k)
		r.index[k] = i
	}
	r.last, r.prev = i, r.last
	return uint32(i)
}

// is reports whether the pair at position i, if any, is (host, system).
func (r *ring) is(i int, host, system string) bool {
	return uint(i) < uint(len(r.sources)) && same(r.sources[i].host, host) && same(r.sources[i].system, system)
}

// same is a == b that answers without comparing bytes when both are the
// same string, as a connection's host and system always are.
func same(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// grow doubles the slots (up to max), keeping the events in order.
func (r *ring) grow() {
	buf, free := allocSlots(min(2*len(r.buf), r.max))
	k := copy(buf, r.buf[r.head:r.head+min(r.n, len(r.buf)-r.head)])
	copy(buf[k:], r.buf[:r.n-k])
	if r.sql != nil {
		sql := make([]string, len(buf))
		k := copy(sql, r.sql[r.head:r.head+min(r.n, len(r.sql)-r.head)])
		copy(sql[k:], r.sql[:r.n-k])
		r.sql = sql
	}
	r.free()
	r.buf, r.free, r.head = buf, free, 0
}

// push appends ev. When the ring is full it overwrites the oldest event and
// reports true.
func (r *ring) push(ev Event) (overwrote bool) {
	if !offHeap && r.n == len(r.buf) && len(r.buf) < r.max {
		r.grow() // mapped slots have the whole capacity from the start
	}
	var src uint32
	switch {
	case r.is(r.last, ev.Host, ev.DBSystem):
		src = uint32(r.last)
	case r.is(r.prev, ev.Host, ev.DBSystem):
		r.last, r.prev = r.prev, r.last
		src = uint32(r.last)
	default:
		src = r.intern(ev.Host, ev.DBSystem)
	}
	r.pushed++
	i := r.head + r.n
	if r.n == len(r.buf) {
		i = r.head
		r.head++
		if r.head == len(r.buf) {
			r.head = 0
		}
		overwrote = true
	} else {
		if i >= len(r.buf) {
			i -= len(r.buf)
		}
		r.n++
	}
	r.buf[i] = slot{
		sec:         ev.Time.Unix(),
		nsec:        uint32(ev.Time.Nanosecond()),
		source:      src,
		connID:      ev.ConnID,
		fingerprint: ev.Fingerprint,
		latency:     ev.Latency,
		total:       ev.Total,
		rows:        ev.Rows,
		op:          ev.Op,
		kind:        ev.Kind,
		err:         ev.Err,
		inTx:        ev.InTx,
	}
	if ev.SQL != "" {
		if r.sql == nil {
			r.sql = make([]string, len(r.buf))
		}
		r.sql[i] = ev.SQL
	} else if r.sql != nil {
		r.sql[i] = ""
	}
	return overwrote
}

// headSeq returns the sequence number of the oldest event held (or of the
// next one pushed when empty).
func (r *ring) headSeq() uint64 { return r.pushed - uint64(r.n) }

// take appends up to max of the oldest events' slots to dst, and their
// statement texts to texts when the ring holds any (texts stays nil
// otherwise), and removes them from the ring. The oldest of them has
// sequence number headSeq() as it was before the call.
func (r *ring) take(dst []slot, texts []string, max int) ([]slot, []string) {
	k := min(max, r.n)
	if k <= 0 {
		return dst, texts
	}
	first := min(k, len(r.buf)-r.head)
	dst = append(dst, r.buf[r.head:r.head+first]...)
	dst = append(dst, r.buf[:k-first]...)
	if r.sql != nil {
		texts = append(texts, r.sql[r.head:r.head+first]...)
		texts = append(texts, r.sql[:k-first]...)
		clear(r.sql[r.head : r.head+first]) // let the texts go
		clear(r.sql[:k-first])
	}
	r.head += k
	if r.head >= len(r.buf) {
		r.head -= len(r.buf)
	}
	r.n -= k
	return dst, texts
}

// appendItems appends the slots take returned to dst as items, the first
// with sequence number seq, each with its text when there are texts (take
// returns one per slot, or none).
func appendItems(dst []item, slots []slot, texts []string, seq uint64) []item {
	for i := range slots {
		it := item{s: slots[i], seq: seq + uint64(i)}
		if len(texts) > 0 {
			it.sql = texts[i]
		}
		dst = append(dst, it)
	}
	return dst
}

// clear empties the ring and returns how many events it held.
func (r *ring) clear() int {
	n := r.n
	clear(r.sql)
	r.head, r.n = 0, 0
	return n
}
