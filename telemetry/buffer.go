package telemetry

// ring is a fixed-capacity FIFO of events that overwrites its oldest event
// when full. It is not safe for concurrent use: the Exporter guards it with
// its mutex.
//
// Events are stored by value in a slice allocated once, so push never
// allocates.
type ring struct {
	buf  []Event
	head int // index of the oldest event
	n    int // number of events held
	// pushed counts every event ever pushed. The oldest event held has the
	// sequence number pushed-n; Flush uses sequence numbers to know when
	// what was buffered at its call has left the buffer.
	pushed uint64
}

func newRing(capacity int) ring {
	return ring{buf: make([]Event, capacity)}
}

// push appends ev. When the ring is full it overwrites the oldest event and
// reports true.
func (r *ring) push(ev Event) (overwrote bool) {
	r.pushed++
	if r.n == len(r.buf) {
		r.buf[r.head] = ev
		r.head++
		if r.head == len(r.buf) {
			r.head = 0
		}
		return true
	}
	i := r.head + r.n
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	r.buf[i] = ev
	r.n++
	return false
}

// headSeq returns the sequence number of the oldest event held (or of the
// next one pushed when empty).
func (r *ring) headSeq() uint64 { return r.pushed - uint64(r.n) }

// pop moves up to max of the oldest events into dst, each with its sequence
// number, and returns dst.
func (r *ring) pop(dst []item, max int) []item {
	seq := r.headSeq()
	for ; max > 0 && r.n > 0; max-- {
		dst = append(dst, item{ev: r.buf[r.head], seq: seq})
		r.buf[r.head] = Event{} // let the strings go
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
	clear(r.buf)
	r.head, r.n = 0, 0
	return n
}
