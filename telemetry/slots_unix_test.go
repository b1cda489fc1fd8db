//go:build unix

package telemetry

import (
	"syscall"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// When the mapping fails the slots come from the heap, whole: the ring
// does not grow where slots are mapped, so a short fallback would lose the
// capacity. Giving them back then unmaps nothing.
func TestSlotsFallBackToHeapWhenMappingFails(t *testing.T) {
	const capacity = 100
	munmaps := 0
	failing := func(n int) ([]slot, func()) {
		return mapSlots(n,
			func(int) ([]byte, error) { return nil, syscall.ENOMEM },
			func([]byte) error { munmaps++; return nil })
	}
	r := newRingOn(capacity, failing)
	if len(r.buf) != capacity {
		t.Fatalf("fallback ring has %d slots, want its capacity %d", len(r.buf), capacity)
	}
	for i := range capacity + 20 {
		r.push(Event{ConnID: uint64(i), Host: "h", DBSystem: "s"})
	}
	var conns []uint64
	for _, it := range r.pop(nil, capacity+20) {
		conns = append(conns, it.s.connID)
	}
	want := make([]uint64, capacity)
	for i := range want {
		want[i] = uint64(20 + i) // the 20 oldest overwritten
	}
	if diff := cmp.Diff(want, conns); diff != "" {
		t.Errorf("events after overflowing the fallback ring (-want +got):\n%s", diff)
	}
	r.release()
	if munmaps != 0 {
		t.Errorf("releasing heap slots called munmap %d times", munmaps)
	}
}

// A mapping that works is what the slots are, and giving them back unmaps
// exactly it, once.
func TestSlotsMappedAndGivenBack(t *testing.T) {
	var mapped, unmapped []byte
	calls := 0
	slots, free := mapSlots(64,
		func(size int) ([]byte, error) {
			m, err := anonMap(size)
			mapped = m
			return m, err
		},
		func(m []byte) error { calls++; unmapped = m; return syscall.Munmap(m) })
	if len(slots) != 64 || len(mapped) != 64*int(unsafe.Sizeof(slot{})) {
		t.Fatalf("got %d slots from a mapping of %d bytes", len(slots), len(mapped))
	}
	if unsafe.Pointer(&slots[0]) != unsafe.Pointer(&mapped[0]) {
		t.Fatalf("the slots are not the mapped memory")
	}
	slots[63] = slot{connID: 7} // writable to its end
	free()
	if calls != 1 || len(unmapped) != len(mapped) || unsafe.Pointer(&unmapped[0]) != unsafe.Pointer(&mapped[0]) {
		t.Errorf("free: %d munmap calls, of %d bytes; want 1 of the %d mapped", calls, len(unmapped), len(mapped))
	}
}
