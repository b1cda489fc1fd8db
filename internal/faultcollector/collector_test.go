package faultcollector

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestScriptReproducible(t *testing.T) {
	a, b := Script(42, 200), Script(42, 200)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different scripts (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, Script(43, 200)) {
		t.Error("seeds 42 and 43 gave the same script")
	}
	seen := map[Fault]bool{}
	for _, s := range Script(1, 5000) {
		seen[s.Fault] = true
	}
	for _, f := range Faults() {
		if !seen[f] && f != Redirect {
			t.Errorf("fault %v never drawn in 5000 steps", f)
		}
	}
}

// post sends events with the given ids, gzipped when zip, and returns the
// status and body (or the transport error).
func post(t *testing.T, c *Collector, timeout time.Duration, zip bool, ids ...string) (int, string, error) {
	t.Helper()
	var evs []string
	for _, id := range ids {
		evs = append(evs, fmt.Sprintf(`{"id":%q,"op":"query"}`, id))
	}
	body := []byte(`{"request_id":"r","events":[` + strings.Join(evs, ",") + `]}`)
	if zip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+EventsPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Sqltel-Attempt", "1")
	if zip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

func TestEventFaults(t *testing.T) {
	for _, tc := range []struct {
		fault   Fault
		status  int // 0: transport error
		stored  []string
		readErr bool
	}{
		{Healthy, 200, []string{"a", "b", "c", "d"}, false},
		{Status500, 500, nil, false},
		{Status503, 503, nil, false},
		{Status429, 429, nil, false},
		{Status413, 413, nil, false},
		{Status400, 400, nil, false},
		{Status401, 401, nil, false},
		{Timeout, 0, nil, false},
		{Blackhole, 0, nil, false},
		{Reset, 0, nil, false},
		{ResetAfterHeaders, 200, []string{"a", "b", "c", "d"}, true},
		{SlowHeaders, 200, []string{"a", "b", "c", "d"}, false},
		{Malformed, 200, []string{"a", "b", "c", "d"}, false},
		{Partial, 200, []string{"c"}, false},
		{HugeWait, 200, []string{"a", "b", "c", "d"}, false},
		{HugeBody, 200, []string{"a", "b", "c", "d"}, false},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			c := New(Config{Events: Steps(tc.fault), HugeBodySize: 4 << 20})
			defer c.Close()
			// A short timeout only where the fault is one: elsewhere a
			// loaded machine must have time to read a 4 MiB answer.
			timeout := 10 * time.Second
			if tc.fault == Timeout || tc.fault == Blackhole {
				timeout = 300 * time.Millisecond
			}
			status, body, err := post(t, c, timeout, true, "a", "b", "c", "d")
			if status != tc.status {
				t.Errorf("status %d (%v), want %d", status, err, tc.status)
			}
			if tc.readErr != (err != nil && status != 0) {
				t.Errorf("body read error %v", err)
			}
			if diff := cmp.Diff(tc.stored, c.Stored()); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if tc.fault == Partial && !strings.Contains(body, `"a":"retry"`) {
				t.Errorf("partial body %s", body)
			}
			// The script ran out: the next request is healthy, and an
			// accepted id sent again is noticed.
			if status, _, err := post(t, c, 10*time.Second, false, "c", "e"); status != 200 {
				t.Fatalf("after the script: %d %v", status, err)
			}
			wantResent := []string(nil)
			if len(tc.stored) > 0 {
				wantResent = []string{"c"}
			}
			if diff := cmp.Diff(wantResent, c.ResentAfterAck()); diff != "" {
				t.Errorf("resent (-want +got):\n%s", diff)
			}
			reqs := c.Requests()
			if len(reqs) != 2 || reqs[0].Fault != tc.fault || reqs[0].Attempt != 1 || len(reqs[0].IDs) != 4 || reqs[0].DecodeErr != "" {
				t.Errorf("requests = %+v", reqs)
			}
			if bytes.Contains(c.Raw(), []byte("Bearer tok")) || c.AuthHeaders()[0] != "Bearer tok" {
				t.Error("Authorization kept with the raw bytes, or not kept apart")
			}
			if !bytes.Contains(c.Raw(), []byte(`"id":"a"`)) {
				t.Error("raw bytes do not hold the decompressed body")
			}
		})
	}
}

func TestHugeBodyBounded(t *testing.T) {
	c := New(Config{Events: Steps(HugeBody)})
	defer c.Close()
	status, _, err := post(t, c, 10*time.Second, false, "a")
	if status != 200 || err != nil {
		t.Fatalf("%d %v", status, err)
	}
	if n := c.HugeBytesSent(); n < 1<<20 {
		t.Errorf("only %d bytes streamed", n)
	}
}

func TestFlags(t *testing.T) {
	c := New(Config{Flags: Steps(Status500, Malformed), FlagEnabled: true})
	defer c.Close()
	get := func() (int, string) {
		resp, err := http.Get(c.URL + FlagsPath + "?host=h%3A1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var got []string
	for range 3 {
		s, b := get()
		got = append(got, fmt.Sprint(s, " ", strings.TrimSpace(b)))
	}
	want := []string{"500 internal error", `200 {"flags":`, `200 {"flags":{"telemetry_enabled":true},"ttl_seconds":900}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if h := c.Requests()[0].Host; h != "h:1" {
		t.Errorf("host = %q", h)
	}
}

func TestRedirect(t *testing.T) {
	other := New(Config{})
	defer other.Close()
	c := New(Config{Default: Redirect, RedirectTo: other.URL})
	defer c.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(c.URL+EventsPath, "application/json", strings.NewReader(`{"events":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 307 || resp.Header.Get("Location") != other.URL+EventsPath {
		t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestCloseReleasesBlackhole(t *testing.T) {
	c := New(Config{Default: Blackhole})
	errc := make(chan error, 1)
	go func() {
		_, err := http.Post(c.URL+EventsPath, "application/json", strings.NewReader(`{"events":[]}`))
		errc <- err
	}()
	for c.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a request held")
	}
	if err := <-errc; err == nil {
		t.Error("a blackholed request got an answer")
	}
}
