package telemetry

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A server that answers before it has read the body (a proxy enforcing a
// size limit does): the transport may still be writing the body when the
// answer arrives, so the encoder must not reuse its buffer for the next
// request meanwhile. The race detector is the assertion.
func TestEarlyAnswerDoesNotRaceBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var first atomic.Bool
	first.Store(true)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if first.CompareAndSwap(true, false) {
						io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\n\r\n")
						time.Sleep(30 * time.Millisecond)
						io.Copy(io.Discard, req.Body)
						continue
					}
					io.Copy(io.Discard, req.Body)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
				}
			}(c)
		}
	}()
	e, err := NewRegistry().Acquire(Config{Endpoint: "http://" + ln.Addr().String(), BatchSize: 4000, BufferSize: 4000,
		Compression: CompressionNone, FlushInterval: time.Hour, ShutdownTimeout: 5 * time.Second,
		Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	host := strings.Repeat("h", 4000)
	for range 4000 {
		e.Record(Event{Time: time.Now(), Host: host, Rows: -1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.Flush(ctx)
	e.Release()
	if st := e.Stats(); st.Recorded != st.Delivered+st.DroppedTotal()+uint64(st.Pending) || st.Delivered != 4000 {
		t.Errorf("stats: %+v", st)
	}
}
