//go:build unix

package telemetry

import (
	"syscall"
	"unsafe"
)

// offHeap: the ring's slots are mapped memory outside the Go heap. They hold
// no pointers, so the garbage collector has nothing to find there, and
// outside the heap they do not count against its goal: a program with a
// small heap (whose goal is then the 4 MiB minimum) would otherwise collect
// garbage more often for the sake of the buffer. The kernel gives the pages
// as they are first written, so the whole capacity is mapped at once.
const offHeap = true

// allocSlots returns n zeroed slots and the function that gives them back.
// It falls back to the heap if the mapping fails.
func allocSlots(n int) ([]slot, func()) { return mapSlots(n, anonMap, syscall.Munmap) }

// anonMap maps size bytes of zeroed, private memory.
func anonMap(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

// mapSlots is allocSlots with the mapping's calls as parameters, so that a
// test can make the mapping fail.
func mapSlots(n int, mmap func(size int) ([]byte, error), munmap func([]byte) error) ([]slot, func()) {
	size := n * int(unsafe.Sizeof(slot{}))
	if size == 0 {
		return nil, func() {}
	}
	mem, err := mmap(size)
	if err != nil {
		// A full capacity on the heap: the ring does not grow when offHeap.
		return make([]slot, n), func() {}
	}
	return unsafe.Slice((*slot)(unsafe.Pointer(unsafe.SliceData(mem))), n), func() { munmap(mem) }
}
