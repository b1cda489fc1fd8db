package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"8MiB", 8 << 20},
		{"8mib", 8 << 20},
		{"512KiB", 512 << 10},
		{"1GiB", 1 << 30},
		{"1MB", 1_000_000},
		{"10kb", 10_000},
		{"1000000", 1_000_000},
		{"42B", 42},
		{" 2 MiB ", 2 << 20},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "MiB", "0", "-1", "1.5MiB", "8XB", "99999999999GiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv("SQLTEL_COLLECTOR_TOKEN", "")
	got, err := parseFlags([]string{
		"-listen", "127.0.0.1:0", "-db", ":memory:", "-enable", "localhost, db.example.com,",
		"-next-wait-ms", "250", "-max-body", "1MiB", "-token", "t",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := options{
		listen: "127.0.0.1:0", dsn: ":memory:", enable: []string{"localhost", "db.example.com"},
		nextWait: 250 * time.Millisecond, maxBody: 1 << 20, flagTTL: 15 * time.Minute, token: "t",
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(options{})); diff != "" {
		t.Errorf("parseFlags (-want +got):\n%s", diff)
	}

	t.Setenv("SQLTEL_COLLECTOR_TOKEN", "from-env")
	got, err = parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"*"}, got.enable); diff != "" || got.token != "from-env" || got.maxBody != 8<<20 {
		t.Errorf("defaults: enable %v, token %q, max body %d", got.enable, got.token, got.maxBody)
	}

	for _, args := range [][]string{
		{"-max-body", "lots"},
		{"-next-wait-ms", "-1"},
		{"-log-level", "loud"},
		{"extra"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", args)
		}
	}
}
