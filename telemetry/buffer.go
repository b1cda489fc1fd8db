package telemetry

import "time"

// ring is a fixed-capacity FIFO of events that overwrites its oldest event
// when full. It is not safe for concurrent use: the Exporter guards it with
// its mutex.
//
// Events are stored in a slice allocated once, so push never allocates, and
// as pointer-free slots: a ring of 10 000 Events would hold 40 000 pointers
// (the time's location, the host, the system, the text) that the garbage
// collector would scan at every cycle of the application's heap. The strings
// are interned instead (an event's host and system are its connection's
// own, so a few pairs serve every event), and the opt-in statement text,
// the one pointer left, lives in a side array made only when first needed.
type ring struct {
	buf  []slot
	head int // index of the oldest event
	n    int // number of events held
	// pushed counts every event ever pushed. The oldest event held has the
	// sequence number pushed-n; Flush uses sequence numbers to know when
	// what was buffered at its call has left the buffer.
	pushed uint64

	sources []source       // interned (host, system) pairs
	index   map[source]int // position in sources
	last    int            // the pair the previous push used: the usual hit
	sql     []string       // statement texts by slot, nil until one is pushed
}

type source struct{ host, system string }

// slot is an Event without pointers.
type slot struct {
	sec         int64  // Unix seconds and nanoseconds: UnixNano would not
	nsec        uint32 // hold times outside 1678-2262, the zero Time included
	connID      uint64
	fingerprint uint64
	latency     time.Duration
	total       time.Duration
	rows        int64
	source      uint32
	op          Op
	kind        Kind
	err         ErrCategory
	inTx        bool
	hasSQL      bool
}

func newRing(capacity int) ring {
	return ring{buf: make([]slot, capacity), index: map[source]int{}, last: -1}
}

// intern returns the position of ev's (host, system) pair.
func (r *ring) intern(host, system string) uint32 {
	if r.last >= 0 {
		if s := r.sources[r.last]; s.host == host && s.system == system {
			return uint32(r.last)
		}
	}
	k := source{host, system}
	i, ok := r.index[k]
	if !ok {
		i = len(r.sources)
		r.sources = append(r.sources, k)
		r.index[k] = i
	}
	r.last = i
	return uint32(i)
}

// push appends ev. When the ring is full it overwrites the oldest event and
// reports true.
func (r *ring) push(ev Event) (overwrote bool) {
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
		connID:      ev.ConnID,
		fingerprint: ev.Fingerprint,
		latency:     ev.Latency,
		total:       ev.Total,
		rows:        ev.Rows,
		source:      r.intern(ev.Host, ev.DBSystem),
		op:          ev.Op,
		kind:        ev.Kind,
		err:         ev.Err,
		inTx:        ev.InTx,
		hasSQL:      ev.SQL != "",
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

// event rebuilds the Event held in slot i.
func (r *ring) event(i int) Event {
	s := &r.buf[i]
	src := r.sources[s.source]
	ev := Event{
		Time:        time.Unix(s.sec, int64(s.nsec)).UTC(),
		Host:        src.host,
		DBSystem:    src.system,
		ConnID:      s.connID,
		Fingerprint: s.fingerprint,
		Latency:     s.latency,
		Total:       s.total,
		Rows:        s.rows,
		Op:          s.op,
		Kind:        s.kind,
		Err:         s.err,
		InTx:        s.inTx,
	}
	if s.hasSQL {
		ev.SQL = r.sql[i]
		r.sql[i] = "" // let the text go
	}
	return ev
}

// headSeq returns the sequence number of the oldest event held (or of the
// next one pushed when empty).
func (r *ring) headSeq() uint64 { return r.pushed - uint64(r.n) }

// pop moves up to max of the oldest events into dst, each with its sequence
// number, and returns dst.
func (r *ring) pop(dst []item, max int) []item {
	seq := r.headSeq()
	for ; max > 0 && r.n > 0; max-- {
		dst = append(dst, item{ev: r.event(r.head), seq: seq})
		seq++
		r.head++
		if r.head == len(r.buf) {
			r.head = 0
		}
		r.n--
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
