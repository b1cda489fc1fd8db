package telemetry

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// sessionLifetime is how long a session id is used before it is rotated.
const sessionLifetime = 24 * time.Hour

// Registry holds the running exporters, one per (endpoint, token). Most
// programs use Default(); a Registry of one's own is for tests and for
// programs that want separate lifetimes. The zero value is not usable; use
// NewRegistry.
type Registry struct {
	mu        sync.Mutex
	exporters map[registryKey]*Exporter

	sessMu    sync.Mutex
	sessID    string
	sessStart time.Time

	// newHook, when not nil, is called on every new exporter before its
	// goroutine starts (tests).
	newHook func(*Exporter)
}

type registryKey struct {
	endpoint string
	token    string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{exporters: make(map[registryKey]*Exporter)}
}

var defaultRegistry = NewRegistry()

// Default returns the process-wide registry used by the package-level
// Flush and Shutdown.
func Default() *Registry { return defaultRegistry }

// Flush flushes every exporter of Default(); see Registry.Flush.
func Flush(ctx context.Context) error { return defaultRegistry.Flush(ctx) }

// Shutdown stops every exporter of Default(); see Registry.Shutdown.
func Shutdown(ctx context.Context) error { return defaultRegistry.Shutdown(ctx) }

// Acquire returns the exporter for cfg's endpoint and token, starting it if
// there is none, and takes a reference to it: call Release exactly once for
// each successful Acquire. When the exporter already runs, cfg's other
// fields are ignored. It returns cfg.Validate()'s error, if any.
func (r *Registry) Acquire(cfg Config) (*Exporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key := registryKey{endpoint: strings.TrimRight(cfg.Endpoint, "/"), token: cfg.Token}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.exporters[key]; e != nil {
		e.refs++
		return e, nil
	}
	e := newExporter(cfg, r, key)
	if r.newHook != nil {
		r.newHook(e)
	}
	e.refs = 1
	r.exporters[key] = e
	go e.run()
	return e, nil
}

// Flush flushes every running exporter concurrently (see Exporter.Flush)
// and joins their errors.
func (r *Registry) Flush(ctx context.Context) error {
	r.mu.Lock()
	list := make([]*Exporter, 0, len(r.exporters))
	for _, e := range r.exporters {
		list = append(list, e)
	}
	r.mu.Unlock()
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, e := range list {
		wg.Go(func() {
			if err := e.Flush(ctx); err != nil && !errors.Is(err, ErrClosed) {
				errs[i] = fmt.Errorf("telemetry: flush to %s: %w", e.key.endpoint, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Shutdown stops every running exporter, whatever its references, and
// removes it from the registry: for programs that exit without closing
// their connections. Each stop is bounded by its Config.ShutdownTimeout and
// by ctx. Later Release calls on those exporters do nothing, and later
// Acquire calls start fresh exporters. The error joins one ErrShutdown per
// exporter that lost events at shutdown, and ctx.Err() if ctx ended first.
func (r *Registry) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	list := make([]*Exporter, 0, len(r.exporters))
	for k, e := range r.exporters {
		e.refs = 0
		delete(r.exporters, k)
		list = append(list, e)
	}
	r.mu.Unlock()
	errs := make([]error, len(list)+1)
	var wg sync.WaitGroup
	for i, e := range list {
		wg.Go(func() {
			deadline := time.Now().Add(e.cfg.ShutdownTimeout)
			if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
				deadline = d
			}
			e.stop(ctx, deadline)
			if n := e.Stats().Dropped.Shutdown; n > 0 {
				errs[i] = fmt.Errorf("%w: %d event(s) to %s", ErrShutdown, n, e.key.endpoint)
			}
		})
	}
	wg.Wait()
	errs[len(list)] = ctx.Err()
	return errors.Join(errs...)
}

// session returns the session id, rotating it every sessionLifetime.
func (r *Registry) session(now time.Time) string {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	if r.sessID == "" || now.Sub(r.sessStart) >= sessionLifetime {
		var b [16]byte
		crand.Read(b[:])
		r.sessID = hex.EncodeToString(b[:])
		r.sessStart = now
	}
	return r.sessID
}
