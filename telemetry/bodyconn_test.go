package telemetry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// writeConn is a net.Conn whose writes are recorded.
type writeConn struct {
	net.Conn
	buf    bytes.Buffer
	writes int
}

func (c *writeConn) Write(p []byte) (int, error) { c.writes++; return c.buf.Write(p) }

// The rest of a body net/http hands over (a LimitedReader around the
// reader it wraps a *bytes.Reader in) is written in one Write, without a
// copy buffer; other readers are copied whole; a body longer than its limit
// is cut at the limit with an error.
func TestBodyConnReadFrom(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB
	c := &bodyConn{Conn: &writeConn{}}
	w := c.Conn.(*writeConn)

	lr := &io.LimitedReader{R: io.NopCloser(bytes.NewReader(body[100:])), N: int64(len(body) - 100)}
	n, err := c.ReadFrom(lr)
	if err != nil || n != int64(len(body)-100) || lr.N != 0 || w.writes != 1 || !bytes.Equal(w.buf.Bytes(), body[100:]) {
		t.Fatalf("ReadFrom(in-memory body) = %d, %v; left %d, %d writes, equal %v; want %d, nil, 0, 1 write, equal",
			n, err, lr.N, w.writes, bytes.Equal(w.buf.Bytes(), body[100:]), len(body)-100)
	}
	allocs := testing.AllocsPerRun(20, func() {
		w.buf.Reset()
		c.ReadFrom(&io.LimitedReader{R: io.NopCloser(bytes.NewReader(body)), N: int64(len(body))})
	})
	if allocs > 3 { // the test's own LimitedReader, reader and NopCloser; no 32 KiB buffer
		t.Errorf("ReadFrom allocates %.0f times per body", allocs)
	}

	w.buf.Reset()
	if n, err := c.ReadFrom(strings.NewReader("plain reader")); err != nil || n != 12 || w.buf.String() != "plain reader" {
		t.Errorf("ReadFrom(strings.Reader) = %d, %v, wrote %q", n, err, w.buf.String())
	}
	w.buf.Reset()
	lr = &io.LimitedReader{R: struct{ io.Reader }{bytes.NewReader(body)}, N: 10}
	if n, err := c.ReadFrom(lr); err != nil || n != 10 || w.buf.Len() != 10 {
		t.Errorf("ReadFrom(limited plain reader) = %d, %v, wrote %d bytes; want 10", n, err, w.buf.Len())
	}
	w.buf.Reset()
	lr = &io.LimitedReader{R: bytes.NewReader(body), N: 10}
	if n, err := c.ReadFrom(lr); !errors.Is(err, errBodyTooLong) || n != 10 || w.buf.Len() != 10 {
		t.Errorf("ReadFrom(body longer than its limit) = %d, %v, wrote %d bytes; want 10, errBodyTooLong", n, err, w.buf.Len())
	}
}

// Through the exporter's own transport, bodies far over net/http's write
// buffer arrive whole and as encoded, request after request.
func TestOwnTransportSendsLargeBodies(t *testing.T) {
	var mu sync.Mutex
	var got [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != r.ContentLength {
			t.Errorf("server read %d bytes (%v) of a %d-byte body", len(b), err, r.ContentLength)
		}
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	e := idleExporter(t, Config{Endpoint: srv.URL, Logger: quiet})
	if _, ok := e.client.Transport.(*http.Transport); !ok {
		t.Fatal("the exporter has no transport of its own")
	}
	b1, b2 := sendTwoBatches(e, 1000, 2000)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("server got %d requests, want 2", len(got))
	}
	for i, id := range []string{b1.requestID, b2.requestID} {
		if len(got[i]) < 64<<10 || !bytes.Contains(got[i], []byte(id)) || !bytes.HasSuffix(got[i], []byte("]}")) {
			t.Errorf("request %d: %d bytes, has its id %v, complete %v", i+1, len(got[i]), bytes.Contains(got[i], []byte(id)), bytes.HasSuffix(got[i], []byte("]}")))
		}
	}
}

// The exporter's transport keeps what the base transport gives: its dialer
// (the deprecated Dial hook too), and HTTP/2 where net/http would try it.
func TestOwnTransportFromBase(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	defer srv.Close()
	var dials int
	base := &http.Transport{Dial: func(network, addr string) (net.Conn, error) {
		dials++
		return net.Dial(network, addr)
	}}
	tr := ownTransport(base)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if dials != 1 {
		t.Errorf("the base transport's Dial was called %d times, want 1", dials)
	}
	// Not an *http.Transport (an instrumentation wrapper, say): a fresh
	// transport that still attempts HTTP/2, as http.DefaultTransport does.
	if tr := ownTransport(roundTripFunc(nil)); !tr.ForceAttemptHTTP2 || tr.Proxy == nil {
		t.Errorf("transport from a RoundTripper: ForceAttemptHTTP2 %v, proxy set %v", tr.ForceAttemptHTTP2, tr.Proxy != nil)
	}
	// A dialer that answers (nil, nil) is passed through for net/http to
	// report, not wrapped into a connection that is not there.
	nilDial := bodyDialer(func(context.Context, string, string) (net.Conn, error) { return nil, nil })
	if c, err := nilDial(context.Background(), "tcp", "x:1"); c != nil || err != nil {
		t.Errorf("bodyDialer over a (nil, nil) dial = %v, %v; want nil, nil", c, err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
