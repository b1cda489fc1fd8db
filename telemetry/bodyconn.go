package telemetry

import (
	"context"
	"errors"
	"io"
	"net"
)

// bodyConn is a connection of the exporter's own transport. net/http copies
// a request's headers into its write buffer and then as much of the body as
// fits; the rest it hands to the connection's ReadFrom inside an
// io.LimitedReader, and net.TCPConn's ReadFrom (io.Copy underneath)
// allocates a 32 KiB buffer to copy it, once per request. The exporter's
// bodies are in memory already (a *bytes.Reader, which net/http wraps in a
// reader that keeps its WriteTo): bodyConn has them write what is left
// straight to the connection, with no buffer and no copy, so the transport's
// write buffer can stay small instead of holding a whole batch for the life
// of the connection.
type bodyConn struct {
	net.Conn
	lw limitedWriter // net/http writes one request at a time on a connection
}

// ReadFrom writes the rest of a body that can write itself, at most the
// limit net/http set (the Content-Length); any other reader goes to the
// connection's own ReadFrom, as it would unwrapped.
func (c *bodyConn) ReadFrom(r io.Reader) (int64, error) {
	var wt io.WriterTo
	lr, ok := r.(*io.LimitedReader)
	if ok {
		wt, ok = lr.R.(io.WriterTo)
	}
	if !ok {
		if rf, ok := c.Conn.(io.ReaderFrom); ok {
			return rf.ReadFrom(r)
		}
		return io.Copy(c.Conn, r) // c.Conn has no ReadFrom for io.Copy to call
	}
	c.lw = limitedWriter{w: c.Conn, n: lr.N}
	n, err := wt.WriteTo(&c.lw)
	lr.N -= n
	return n, err
}

// errBodyTooLong: a body had more bytes than its Content-Length. The
// exporter's never do; net/http would report it too.
var errBodyTooLong = errors.New("telemetry: request body longer than its Content-Length")

// limitedWriter writes at most n bytes to w.
type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	var tooLong error
	if int64(len(p)) > l.n {
		p, tooLong = p[:l.n], errBodyTooLong
	}
	n, err := l.w.Write(p)
	l.n -= int64(n)
	if err == nil {
		err = tooLong
	}
	return n, err
}

// bodyDialer wraps the connections dial returns in bodyConn.
func bodyDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil || c == nil {
			return c, err // net/http reports a (nil, nil) dial itself
		}
		return &bodyConn{Conn: c}, nil
	}
}
