//go:build !unix

package telemetry

// offHeap is false where memory cannot be mapped: the slots are on the heap
// and the ring grows to its capacity as needed (see ring).
const offHeap = false

// allocSlots returns n zeroed slots and the function that gives them back.
func allocSlots(n int) ([]slot, func()) { return make([]slot, n), func() {} }
