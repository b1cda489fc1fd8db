package safelog

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// boom panics in the methods its fields name.
type boom struct {
	enabled, handle, attrs, group bool
	inner                         slog.Handler
}

func (b boom) Enabled(ctx context.Context, l slog.Level) bool {
	if b.enabled {
		panic("enabled")
	}
	return b.inner.Enabled(ctx, l)
}

func (b boom) Handle(ctx context.Context, r slog.Record) error {
	if b.handle {
		panic("handle")
	}
	return b.inner.Handle(ctx, r)
}

func (b boom) WithAttrs(as []slog.Attr) slog.Handler {
	if b.attrs {
		panic("attrs")
	}
	b.inner = b.inner.WithAttrs(as)
	return b
}

func (b boom) WithGroup(name string) slog.Handler {
	if b.group {
		panic("group")
	}
	b.inner = b.inner.WithGroup(name)
	return b
}

func TestPanicsAreRecovered(t *testing.T) {
	for _, b := range []boom{{enabled: true}, {handle: true}, {attrs: true}, {group: true}} {
		var out bytes.Buffer
		b.inner = slog.NewTextHandler(&out, nil)
		l := Logger(slog.New(b))
		l.With("k", "v").WithGroup("g").Info("line", "a", 1) // must not panic
		got := out.String()
		switch {
		case b.enabled || b.handle:
			if got != "" {
				t.Errorf("%+v: wrote %q", b, got)
			}
		case !strings.Contains(got, "msg=line"):
			t.Errorf("%+v: the line was lost with the attributes: %q", b, got)
		}
	}
}

func TestHealthyHandlerUnchanged(t *testing.T) {
	var out bytes.Buffer
	l := Logger(slog.New(slog.NewTextHandler(&out, nil)))
	l.With("k", "v").WithGroup("g").Info("line", "a", 1)
	if got := out.String(); !strings.Contains(got, "msg=line k=v g.a=1") {
		t.Errorf("wrote %q", got)
	}
	if Logger(l) != l {
		t.Error("wrapped twice")
	}
	if Logger(nil) != nil {
		t.Error("nil wrapped")
	}
}
