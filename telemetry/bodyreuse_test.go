package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// asyncRT answers at once and reads the body afterwards in its own
// goroutine, as the RoundTripper contract allows ("may do so in a separate
// goroutine even after RoundTrip returns") -- e.g. a server that answered
// early, on a transport that does not fire httptrace hooks.
type asyncRT struct {
	n     int
	go1   chan struct{}
	read1 chan []byte
}

func (rt *asyncRT) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.n++
	body := req.Body
	if rt.n == 1 {
		go func() {
			<-rt.go1
			b, _ := io.ReadAll(body)
			body.Close()
			rt.read1 <- b
		}()
	} else {
		io.Copy(io.Discard, body)
		body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}"))}, nil
}

// A caller's RoundTripper may read and close the body after RoundTrip
// returned: the next batch must not be encoded into it.
func TestBodyNotReusedBeforeCallersTransportCloses(t *testing.T) {
	rt := &asyncRT{go1: make(chan struct{}), read1: make(chan []byte, 1)}
	cfg := Config{Endpoint: "http://127.0.0.1:1", Logger: quiet,
		HTTPClient: &http.Client{Transport: rt}}
	e := idleExporter(t, cfg)
	b1, b2 := sendTwoBatches(e, 10, 100)
	close(rt.go1)
	got := <-rt.read1
	if !bytes.Contains(got, []byte(b1.requestID)) {
		t.Errorf("request 1 was sent with request 2's bytes (b2's id present: %v)", bytes.Contains(got, []byte(b2.requestID)))
	}
}

// A caller's client that follows a same-host 307 answered before the body
// was read, then gets a 200 answered early too, while the second attempt is
// still writing the body: the next batch must not be encoded into it. (It
// raced while buffers were reused with a caller's client. With the
// exporter's own transport net/http on go1.26 waits for the first attempt's
// write before following the redirect, so the attempts never overlap.)
func TestBodyNotReusedWhileARedirectWrites(t *testing.T) {
	var nconn atomic.Int32
	release2 := make(chan struct{})
	got2 := make(chan []byte, 1)
	done := make(chan struct{})
	var conns sync.WaitGroup
	serve := func(c net.Conn, n int32) {
		defer conns.Done()
		defer c.Close()
		br := bufio.NewReader(c)
		cl := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(strings.ToLower(line), "content-length:") {
				cl, _ = strconv.Atoi(strings.TrimSpace(line[len("content-length:"):]))
			}
			if line == "\r\n" {
				break
			}
		}
		switch n {
		case 1:
			io.WriteString(c, "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/v1/events\r\nContent-Length: 0\r\n\r\n")
			<-done // never reads the body
		case 2:
			time.Sleep(100 * time.Millisecond) // answers late, still before reading the body
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
			<-release2
			b := make([]byte, cl)
			n, _ := io.ReadFull(br, b) // what arrived is compared, short or not
			got2 <- b[:n]
		default:
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
			io.Copy(io.Discard, br)
		}
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		a, b := net.Pipe()
		conns.Add(1)
		go serve(b, nconn.Add(1))
		return a, nil
	}
	cfg := Config{Endpoint: "http://127.0.0.1:1", Logger: quiet,
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dial}}}
	e := idleExporter(t, cfg)
	_, b2 := sendTwoBatches(e, 200, 1000)
	close(release2)
	// The transport may give up writing once it has its answer, so the
	// body read may be cut short; whatever was read must be request 1's.
	// (Under -race an overwrite is also a reported race.)
	body := <-got2
	if bytes.Contains(body, []byte(b2.requestID)) || bytes.Contains(body, []byte(`"conn_id":"00000000000003e8"`)) {
		t.Errorf("attempt 2 of request 1 carried request 2's bytes: %.200s", body)
	}
	close(done)
	cfg.HTTPClient.CloseIdleConnections()
	conns.Wait()
}

// sendTwoBatches sends a batch of n events, then at once a second one whose
// connection ids start at second, as the exporter's goroutine would.
func sendTwoBatches(e *Exporter, n, second int) (b1, b2 *batch) {
	send := func(from int) *batch {
		for i := range n {
			e.Record(testEvent(from + i))
		}
		b := e.newBatch()
		e.st.cur = b
		e.attempt(context.Background(), b)
		return b
	}
	return send(0), send(second)
}

// When the transport may still be reading the bodies of both buffer sets
// (two early answers in a row), the encoder must write the next body into
// fresh memory and leave both lent bodies as they were; once a set is given
// back it is reused.
func TestEncodeWhileBothBodySetsAreLent(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run("gzip="+strconv.FormatBool(compress), func(t *testing.T) {
			enc := newEncoder(FormatJSON, compress)
			encode := func(requestID string) (body []byte, rb *reqBody) {
				b := testBatch(enc, 50)
				b.requestID = requestID
				body, _ = enc.encode(b)
				rb = new(reqBody)
				rb.writing.Add(1) // the transport got a connection and is writing
				enc.lend(rb)
				return body, rb
			}
			body1, rb1 := encode("request-1")
			want1 := bytes.Clone(body1)
			body2, _ := encode("request-2")
			want2 := bytes.Clone(body2)
			if overlaps(body1, body2) {
				t.Fatal("the second body was encoded into the first, still lent")
			}
			body3, _ := encode("request-3")
			if overlaps(body3, body1) || overlaps(body3, body2) {
				t.Fatal("with both sets lent, the third body reused one of them")
			}
			if !bytes.Equal(body1, want1) || !bytes.Equal(body2, want2) {
				t.Fatal("a lent body changed while the transport could still read it")
			}
			rb1.writing.Add(-1) // the first request's write reported back
			body4, _ := encode("request-4")
			if overlaps(body4, body2) || overlaps(body4, body3) {
				t.Fatal("the fourth body overwrote a body still lent")
			}
			if !overlaps(body4, body1) {
				t.Error("the set given back was not reused")
			}
			if !bytes.Equal(body2, want2) {
				t.Fatal("the second body changed while still lent")
			}
		})
	}
}

// overlaps reports whether a and b share memory.
func overlaps(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, a1 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&a[0]))+uintptr(len(a))
	b0, b1 := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[0]))+uintptr(len(b))
	return a0 < b1 && b0 < a1
}
