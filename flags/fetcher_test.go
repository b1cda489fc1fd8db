package flags

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sqltel/sqltel/internal/version"
)

const token = "s3cr3t-token"

func TestHTTPFetcherRequest(t *testing.T) {
	var got map[string]string
	srv := newFlagServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		got = map[string]string{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"ua": r.UserAgent(), "auth": r.Header.Get("Authorization"), "accept": r.Header.Get("Accept"),
		}
		writeAnswer(w, true)
	})
	f := NewHTTPFetcher(Endpoint{URL: srv.URL + "/", Token: token})
	if _, err := f.Fetch(context.Background(), "db.example.com:5432/a b"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"method": "GET", "path": "/v1/flags",
		"query": "client=sqltel-go&host=db.example.com%3A5432%2Fa+b&version=" + version.Version,
		"ua":    version.UserAgent, "auth": "Bearer " + token, "accept": "application/json",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}
}

func TestHTTPFetcherResponses(t *testing.T) {
	body := func(s string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(s)) }
	}
	tests := []struct {
		name    string
		handler func(http.ResponseWriter, *http.Request)
		want    Answer
		wantErr error
	}{
		{"enabled", body(`{"flags":{"telemetry_enabled":true,"other":1},"ttl_seconds":900,"extra":[1]}`), Answer{true, 15 * time.Minute}, nil},
		{"disabled, default ttl", body(`{"flags":{"telemetry_enabled":false}}`), Answer{false, 0}, nil},
		{"negative ttl", body(`{"flags":{"telemetry_enabled":true},"ttl_seconds":-5}`), Answer{true, minTTL}, nil},
		{"huge ttl", body(`{"flags":{"telemetry_enabled":true},"ttl_seconds":1e12}`), Answer{true, maxTTL}, nil},
		{"status 500", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "Bearer "+token, http.StatusInternalServerError)
		}, Answer{}, errStatus},
		{"10 MiB body", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"flags":{"telemetry_enabled":true},"pad":"`))
			w.Write([]byte(strings.Repeat("a", 10<<20)))
			w.Write([]byte(`"}`))
		}, Answer{}, errTooLarge},
		{"truncated", body(`{"flags":{"telemetry_enabled":tr`), Answer{}, errBadResponse},
		{"flag is a string", body(`{"flags":{"telemetry_enabled":"yes"}}`), Answer{}, errBadResponse},
		{"flags is a list", body(`{"flags":[true]}`), Answer{}, errBadResponse},
		{"ttl is a string", body(`{"flags":{"telemetry_enabled":true},"ttl_seconds":"900"}`), Answer{}, errBadResponse},
		{"top level list", body(`[]`), Answer{}, errBadResponse},
		{"null", body(`null`), Answer{}, errBadResponse},
		{"flag missing", body(`{"flags":{"telemetry":true}}`), Answer{}, errBadResponse},
		{"flags null", body(`{"flags":null}`), Answer{}, errBadResponse},
		{"slow body", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"flags":`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, Answer{}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tt.handler))
			defer srv.Close()
			// Only "slow body" is about the timeout; the others get time
			// enough on a loaded machine (the 10 MiB body must be read to
			// its limit under -race).
			timeout := 10 * time.Second
			if tt.wantErr == context.DeadlineExceeded {
				timeout = 200 * time.Millisecond
			}
			f := NewHTTPFetcher(Endpoint{URL: srv.URL, Token: token}, WithFetchTimeout(timeout))
			got, err := f.Fetch(context.Background(), "db")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Fetch error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error leaks the token: %v", err)
			}
			if got != tt.want {
				t.Errorf("Fetch = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHTTPFetcherRedirects(t *testing.T) {
	other := newFlagServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeAnswer(w, true) })
	// 127.0.0.1 and localhost are different hosts to the redirect policy.
	elsewhere := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/v1/flags"
	var loops atomic.Int32
	srv := newFlagServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/v1/flags":
			http.Redirect(w, r, "/moved", http.StatusFound)
		case "/moved":
			writeAnswer(w, true)
		case "/loop/v1/flags":
			loops.Add(1)
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		case "/away/v1/flags":
			http.Redirect(w, r, elsewhere, http.StatusFound)
		}
	})
	// A caller's permissive policy must not override ours.
	permissive := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	fetch := func(base string) error {
		f := NewHTTPFetcher(Endpoint{URL: base, Token: token, Client: permissive})
		_, err := f.Fetch(context.Background(), "db")
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("error leaks the token: %v", err)
		}
		return err
	}

	if err := fetch(srv.URL); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
	if err := fetch(srv.URL + "/away"); !errors.Is(err, errRedirect) {
		t.Errorf("cross-host redirect: error = %v, want %v", err, errRedirect)
	}
	if n := other.count(); n != 0 {
		t.Errorf("other host saw %d requests, want 0", n)
	}
	if err := fetch(srv.URL + "/loop"); !errors.Is(err, errRedirect) {
		t.Errorf("redirect loop: error = %v, want %v", err, errRedirect)
	}
	if n := loops.Load(); n != 1+maxRedirects {
		t.Errorf("redirect loop made %d requests, want %d", n, 1+maxRedirects)
	}
}
