// Package safelog keeps a program's log handler from breaking sqltel's
// promise that telemetry never panics into a query: sqltel logs through the
// program's *slog.Logger, from the query path (a Connect's warning, a
// recovered panic's report) and from the exporter's goroutine, and a handler
// that panics (a bug, a sink that was closed) would otherwise take the
// query, or the process, down with it. A recovered line is lost; nothing
// else is.
package safelog

import (
	"context"
	"fmt"
	"log/slog"
)

// Logger returns a logger that writes through l's handler and recovers any
// panic in it; nil stays nil.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	if _, ok := l.Handler().(handler); ok {
		return l
	}
	return slog.New(handler{l.Handler()})
}

// handler is a slog.Handler whose methods recover the inner one's panics.
type handler struct{ h slog.Handler }

func (s handler) Enabled(ctx context.Context, level slog.Level) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return s.h.Enabled(ctx, level)
}

func (s handler) Handle(ctx context.Context, r slog.Record) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("sqltel: the log handler panicked (%T)", v)
		}
	}()
	return s.h.Handle(ctx, r)
}

func (s handler) WithAttrs(attrs []slog.Attr) (h slog.Handler) {
	defer func() {
		if recover() != nil {
			h = s // the attributes are lost, the lines are not
		}
	}()
	return handler{s.h.WithAttrs(attrs)}
}

func (s handler) WithGroup(name string) (h slog.Handler) {
	defer func() {
		if recover() != nil {
			h = s
		}
	}()
	return handler{s.h.WithGroup(name)}
}
