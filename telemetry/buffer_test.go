package telemetry

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRing(t *testing.T) {
	r := newRing(3)
	conns := func(items []item) []uint64 {
		var out []uint64
		for _, it := range items {
			out = append(out, it.s.connID)
		}
		return out
	}
	var overwrote []bool
	for i := range 5 {
		overwrote = append(overwrote, r.push(Event{ConnID: uint64(i)}))
	}
	if diff := cmp.Diff([]bool{false, false, false, true, true}, overwrote); diff != "" {
		t.Errorf("overwrites (-want +got):\n%s", diff)
	}
	if r.headSeq() != 2 {
		t.Errorf("headSeq = %d, want 2", r.headSeq())
	}
	got := r.pop(nil, 2)
	if diff := cmp.Diff([]uint64{2, 3}, conns(got)); diff != "" {
		t.Errorf("pop (-want +got):\n%s", diff)
	}
	if got[0].seq != 2 || got[1].seq != 3 {
		t.Errorf("sequences = %d %d, want 2 3", got[0].seq, got[1].seq)
	}
	r.push(Event{ConnID: 5})
	r.push(Event{ConnID: 6})
	if diff := cmp.Diff([]uint64{4, 5, 6}, conns(r.pop(nil, 10))); diff != "" {
		t.Errorf("pop after wrap (-want +got):\n%s", diff)
	}
	if r.n != 0 || r.headSeq() != 7 {
		t.Errorf("n = %d, headSeq = %d", r.n, r.headSeq())
	}
	r.push(Event{ConnID: 7})
	if n := r.clear(); n != 1 || r.n != 0 {
		t.Errorf("clear() = %d", n)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	e := idleExporter(t, Config{Endpoint: "http://127.0.0.1:1"})
	ev := testEvent(1)
	if n := testing.AllocsPerRun(1000, func() { e.Record(ev) }); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
}

// What goes into the ring comes out unchanged, whatever the mix of hosts,
// systems and opt-in statement texts.
func TestRingRoundTrip(t *testing.T) {
	r := newRing(8)
	var in []Event
	for i := range 20 {
		ev := Event{
			Time:        time.Date(2026, 11, 22, 18, 0, i, i*1000, time.FixedZone("x", 3600)),
			Host:        []string{"a:5432", "b:3306", "localhost"}[i%3],
			DBSystem:    []string{"postgresql", "mysql", "sqlite"}[i%3],
			ConnID:      uint64(i) << 40,
			Fingerprint: uint64(i) * 0x9e3779b97f4a7c15,
			Latency:     time.Duration(i) * time.Microsecond,
			Total:       time.Duration(2*i) * time.Microsecond,
			Rows:        int64(i - 1),
			Op:          Op(i % 12),
			Kind:        Kind(i % 8),
			Err:         ErrCategory(i % 7),
			InTx:        i%2 == 0,
		}
		if i%4 == 0 {
			ev.SQL = "select ? from t" + string(rune('a'+i))
		}
		in = append(in, ev)
		r.push(ev)
	}
	var out []Event
	for _, it := range r.pop(nil, 100) {
		out = append(out, it.event(r.sources))
	}
	if diff := cmp.Diff(in[12:], out); diff != "" {
		t.Errorf("round trip (-pushed +popped):\n%s", diff)
	}
	if len(r.sources) != 3 {
		t.Errorf("%d interned sources for 3 (host, system) pairs", len(r.sources))
	}
}

// The ring's slots hold no pointers, so the garbage collector never scans
// the buffer.
func TestSlotHasNoPointers(t *testing.T) {
	typ := reflect.TypeFor[slot]()
	for i := range typ.NumField() {
		switch f := typ.Field(i); f.Type.Kind() {
		case reflect.Bool, reflect.Int64, reflect.Uint64, reflect.Uint32, reflect.Uint8:
		default:
			t.Errorf("slot.%s is a %s", f.Name, f.Type)
		}
	}
}

// Times outside what UnixNano can hold (1678-2262), the zero Time included,
// come out of the ring as they went in.
func TestRingTimeRange(t *testing.T) {
	r := newRing(4)
	for _, tm := range []time.Time{{}, time.Date(1600, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)} {
		r.push(Event{Time: tm, Host: "h"})
		if got := r.pop(nil, 1)[0].event(r.sources).Time; !got.Equal(tm) {
			t.Errorf("ring turned %s into %s", tm.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano))
		}
	}
}

// pop moves up to max of the oldest events into dst, as newBatch does.
func (r *ring) pop(dst []item, max int) []item {
	seq := r.headSeq()
	slots, texts := r.take(nil, nil, max)
	return appendItems(dst, slots, texts, seq)
}

// event rebuilds the Event an item holds, given the ring's sources (the
// exporter never needs it: it encodes from the slot).
func (it *item) event(sources []source) Event {
	s := &it.s
	src := sources[s.source]
	return Event{
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
		SQL:         it.sql,
	}
}

// newBatch copies slots out of the ring popChunk at a time: a batch of
// several chunks whose events wrap around the end of the ring comes out
// whole, in order, with consecutive sequence numbers and each event's text,
// and the stats count the events in hand.
func TestNewBatchAcrossChunksAndWrap(t *testing.T) {
	const batch = 3*popChunk + 17
	e := idleExporter(t, Config{Endpoint: "http://127.0.0.1:1", BatchSize: batch, BufferSize: batch + 100,
		Logger: quiet})
	text := func(i int) string {
		if i%7 == 0 {
			return fmt.Sprintf("select %d", i)
		}
		return ""
	}
	record := func(from, n int) {
		for i := from; i < from+n; i++ {
			ev := testEvent(i)
			ev.SQL = text(i)
			e.Record(ev)
		}
	}
	record(0, 300)
	if b := e.newBatch(); b == nil || len(b.items) != 300 {
		t.Fatalf("first batch: %v items, want 300", b)
	}
	e.inHand = 0       // as if delivered
	record(300, batch) // wraps around the end of the ring's slots
	b := e.newBatch()
	if b == nil || len(b.items) != batch {
		t.Fatalf("second batch has %v items, want %d", b, batch)
	}
	for k, it := range b.items {
		i := 300 + k
		ev := it.event(e.enc.sources)
		if ev.ConnID != uint64(i) || it.seq != uint64(i) || it.sql != text(i) {
			t.Fatalf("item %d: conn %d, seq %d, text %q; want %d, %d, %q", k, ev.ConnID, it.seq, it.sql, i, i, text(i))
		}
	}
	if s := e.Stats(); s.Pending != batch || e.ring.n != 0 {
		t.Errorf("pending %d, ring %d; want %d in hand and an empty ring", s.Pending, e.ring.n, batch)
	}
}

// Event ids are a random half drawn once per exporter and a counter: two
// exporters (two processes, as far as the collector can tell) never give
// the same id, and one exporter's ids count up.
func TestEventIDsUniqueAcrossExporters(t *testing.T) {
	seen := map[[16]byte]int{}
	for x := range 3 {
		e := idleExporter(t, Config{Endpoint: "http://127.0.0.1:1", Logger: quiet})
		for i := range 500 {
			e.Record(testEvent(i))
		}
		b := e.newBatch()
		if b == nil || len(b.items) != 500 {
			t.Fatalf("exporter %d: batch %v, want 500 items", x, b)
		}
		for k, it := range b.items {
			if prev, dup := seen[it.id]; dup {
				t.Fatalf("exporter %d item %d: id %x already given by exporter %d", x, k, it.id, prev)
			}
			seen[it.id] = x
			if k > 0 && binary.BigEndian.Uint64(it.id[8:]) != binary.BigEndian.Uint64(b.items[k-1].id[8:])+1 {
				t.Fatalf("exporter %d item %d: counter half does not follow the previous id's", x, k)
			}
		}
	}
}

// Where slots are on the heap the ring starts small and doubles: growing
// keeps the events in order from the oldest, wrapped or not, with their
// texts.
func TestRingGrowKeepsOrder(t *testing.T) {
	r := ring{buf: make([]slot, 4), free: func() {}, max: 16, index: map[source]int{}, last: -1, prev: -1}
	defer r.release()
	for i := range 6 { // 4 pushed, 2 overwrite the oldest: head wraps to 2
		ev := testEvent(i)
		if i%2 == 1 {
			ev.SQL = fmt.Sprint("select ", i)
		}
		r.push(ev)
	}
	r.grow()
	if len(r.buf) != 8 || r.head != 0 || r.n != 4 {
		t.Fatalf("after grow: %d slots, head %d, %d events; want 8, 0, 4", len(r.buf), r.head, r.n)
	}
	for k, it := range r.pop(nil, 10) {
		i := k + 2
		want := ""
		if i%2 == 1 {
			want = fmt.Sprint("select ", i)
		}
		if ev := it.event(r.sources); ev.ConnID != uint64(i) || it.sql != want {
			t.Errorf("event %d: conn %d, text %q; want %d, %q", k, ev.ConnID, it.sql, i, want)
		}
	}
}

// Each slot names its own event's (host, system) pair however the pairs
// alternate: repeated (the last pair), two in turn (the previous one),
// three (the map), and strings equal in content but not in memory.
func TestRingInternsAlternatingPairs(t *testing.T) {
	r := newRing(64)
	defer r.release()
	a, b, c := source{"a:1", "postgresql"}, source{"b:2", "postgresql"}, source{"a:1", "mysql"}
	a2 := source{string([]byte("a:1")), string([]byte("postgresql"))} // a, elsewhere in memory
	pairs := []source{a, a, b, b, a, b, a, c, c, a, b, a2, a2, b, a2, c, a}
	for i, p := range pairs {
		ev := testEvent(i)
		ev.Host, ev.DBSystem = p.host, p.system
		r.push(ev)
	}
	slots, _ := r.take(nil, nil, len(pairs))
	for i, s := range slots {
		if got := r.sources[s.source]; got != pairs[i] {
			t.Errorf("event %d: pair %+v, want %+v", i, got, pairs[i])
		}
	}
	if len(r.sources) != 3 || len(r.index) != 3 {
		t.Errorf("%d pairs interned and %d indexed, want 3", len(r.sources), len(r.index))
	}

	// The last two pairs are found without the map: with it emptied, a
	// lookup there would intern them again.
	r.index = map[source]int{}
	for i, p := range []source{c, a, c, a, a, c} {
		ev := testEvent(i)
		ev.Host, ev.DBSystem = p.host, p.system
		r.push(ev)
	}
	if len(r.sources) != 3 {
		t.Errorf("alternating between the last two pairs interned %d new ones", len(r.sources)-3)
	}
}
