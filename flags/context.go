package flags

import (
	"context"
	"sync/atomic"
)

// Context is one connection's reference to a host's flag, obtained from
// Cache.Acquire. It is safe for concurrent use.
type Context struct {
	c        *Cache
	e        *entry
	released atomic.Bool
}

// Enabled reports whether the flag service has telemetry enabled for the
// host. A fresh value is returned without I/O; a stale one is returned at
// once while a background refresh runs. Only when no value has ever been
// fetched does Enabled wait, for the key's single in-flight fetch, at most
// the fetch timeout and never past ctx. Every failure, including ctx ending
// first, a closed Cache and a released Context, reads as false.
func (x *Context) Enabled(ctx context.Context) bool {
	if x.released.Load() {
		return false
	}
	return x.c.enabled(ctx, x.e)
}

// Release gives back the reference taken by Acquire. Only the first call
// counts. The cached value outlives the last reference for the rest of its
// TTL, so reconnecting soon costs no request.
func (x *Context) Release() {
	if x.released.Swap(true) {
		return
	}
	x.c.mu.Lock()
	x.e.refs--
	x.c.mu.Unlock()
}
