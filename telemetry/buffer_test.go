package telemetry

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRing(t *testing.T) {
	r := newRing(3)
	conns := func(items []item) []uint64 {
		var out []uint64
		for _, it := range items {
			out = append(out, it.ev.ConnID)
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
	e := newExporter(Config{Endpoint: "http://127.0.0.1:1"}, NewRegistry(), registryKey{})
	ev := testEvent(1)
	if n := testing.AllocsPerRun(1000, func() { e.Record(ev) }); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
}
