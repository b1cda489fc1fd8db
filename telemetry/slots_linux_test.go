//go:build linux

package telemetry

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
	"unsafe"
)

// The slots are mapped memory, and giving them back unmaps it: the kernel
// then no longer knows the range (madvise answers ENOMEM for it). Another
// mapping of the process (the runtime's, another test's ring) could take
// the freed range before the check: only a range still mapped in every one
// of three tries fails the test, as a ring that is never unmapped would.
func TestSlotsUnmappedOnRelease(t *testing.T) {
	var err error
	for range 3 {
		if err = releasedRangeStillMapped(t); err == nil {
			return
		}
	}
	t.Error(err)
}

// releasedRangeStillMapped maps a ring, releases it and reports an error
// unless its range is unmapped after.
func releasedRangeStillMapped(t *testing.T) error {
	r := newRing(5000)
	size := len(r.buf) * int(unsafe.Sizeof(slot{}))
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(r.buf))), size)
	if err := syscall.Madvise(mem, syscall.MADV_NORMAL); err != nil {
		t.Fatalf("madvise on the live slots: %v (are they mapped?)", err)
	}
	r.push(testEvent(1))
	r.release()
	if r.buf != nil || r.n != 0 {
		t.Fatalf("after release: %d slots, %d events held", len(r.buf), r.n)
	}
	if err := syscall.Madvise(mem, syscall.MADV_NORMAL); !errors.Is(err, syscall.ENOMEM) {
		return fmt.Errorf("madvise after release = %v, want ENOMEM (the range unmapped)", err)
	}
	return nil
}

// An exporter gives its slots back when it stops.
func TestExporterUnmapsSlotsOnStop(t *testing.T) {
	srv := newCollector(t, func(int, captured) reply { return reply{status: 200} })
	reg := NewRegistry()
	e, err := reg.Acquire(Config{Endpoint: srv.URL, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(e.ring.buf))), len(e.ring.buf)*int(unsafe.Sizeof(slot{})))
	e.mu.Unlock()
	e.Record(testEvent(1))
	e.Release() // the last reference: drains and stops
	<-e.done
	if err := syscall.Madvise(mem, syscall.MADV_NORMAL); !errors.Is(err, syscall.ENOMEM) {
		t.Errorf("madvise after the exporter stopped = %v, want ENOMEM (the slots unmapped)", err)
	}
}
