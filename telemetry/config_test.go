package telemetry

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" means valid
	}{
		{"https", Config{Endpoint: "https://collector.example"}, ""},
		{"https with path", Config{Endpoint: "https://collector.example/base/"}, ""},
		{"http loopback v4", Config{Endpoint: "http://127.0.0.1:8080"}, ""},
		{"http loopback 127/8", Config{Endpoint: "http://127.1.2.3"}, ""},
		{"http loopback v6", Config{Endpoint: "http://[::1]:9000"}, ""},
		{"http localhost", Config{Endpoint: "http://LOCALHOST:1"}, ""},
		{"http insecure", Config{Endpoint: "http://collector.internal", Insecure: true}, ""},
		{"http remote", Config{Endpoint: "http://collector.example"}, "Config.Endpoint uses http"},
		{"http almost loopback", Config{Endpoint: "http://localhost.example.com"}, "Config.Insecure"},
		{"empty", Config{}, "Config.Endpoint is empty"},
		{"scheme", Config{Endpoint: "ftp://x"}, "Config.Endpoint must use https"},
		{"no scheme", Config{Endpoint: "collector.example"}, "Config.Endpoint must use https"},
		{"no host", Config{Endpoint: "https://"}, "no host"},
		{"user info", Config{Endpoint: "https://user:pw@x"}, "user information"},
		{"query", Config{Endpoint: "https://x/?a=b"}, "query"},
		{"empty query", Config{Endpoint: "https://x/?"}, "query"},
		{"fragment", Config{Endpoint: "https://x/#a"}, "fragment"},
		{"empty fragment", Config{Endpoint: "https://x/#"}, "fragment"},
		{"buffer too large", Config{Endpoint: "https://x", BufferSize: 1 << 36}, "Config.BufferSize (68719476736) is above MaxBufferSize (1000000)"},
		{"buffer largest", Config{Endpoint: "https://x", BufferSize: MaxBufferSize}, ""},
		{"interval too short", Config{Endpoint: "https://x", FlushInterval: 10}, "Config.FlushInterval (10ns) is below MinFlushInterval (1ms)"},
		{"interval shortest", Config{Endpoint: "https://x", FlushInterval: MinFlushInterval}, ""},
		{"bad url", Config{Endpoint: "https://x\x7f"}, "not a valid URL"},
		{"token", Config{Endpoint: "https://x", Token: "a b"}, "Config.Token"},
		{"buffer", Config{Endpoint: "https://x", BufferSize: -1}, "Config.BufferSize"},
		{"batch", Config{Endpoint: "https://x", BatchSize: -1}, "Config.BatchSize"},
		{"batch > buffer", Config{Endpoint: "https://x", BufferSize: 10, BatchSize: 11}, "larger than Config.BufferSize"},
		{"batch > default buffer", Config{Endpoint: "https://x", BatchSize: 20000}, "larger than"},
		{"interval", Config{Endpoint: "https://x", FlushInterval: -time.Second}, "Config.FlushInterval"},
		{"shutdown", Config{Endpoint: "https://x", ShutdownTimeout: -1}, "Config.ShutdownTimeout"},
		{"format", Config{Endpoint: "https://x", Format: 7}, "Config.Format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	for _, cfg := range []Config{
		{Endpoint: "https://user:hunter2@x"},
		{Endpoint: "https://x", Token: "hunter2\r\n"},
		{Endpoint: "https://x/?key=hunter2"},
		{Endpoint: "https://x/\x00hunter2"},
	} {
		if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Validate() = %v: want an error without the secret", err)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	c := Config{Endpoint: "https://x/"}.withDefaults()
	if c.BufferSize != 10000 || c.BatchSize != 1000 || c.FlushInterval != 10*time.Second ||
		c.ShutdownTimeout != 5*time.Second || c.Logger == nil || c.Clock == nil {
		t.Errorf("withDefaults() = %+v", c)
	}
	if got := c.eventsURL(); got != "https://x/v1/events" {
		t.Errorf("eventsURL() = %q", got)
	}
	// A buffer smaller than twice the default batch, with no batch size:
	// valid, and a batch is half the buffer, leaving the other half to
	// fill while the sender takes one.
	for _, c := range []struct{ buffer, batch int }{{300, 150}, {1500, 750}, {1, 1}, {2000, 1000}} {
		cfg := Config{Endpoint: "https://x/", BufferSize: c.buffer}
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate(BufferSize %d) = %v", c.buffer, err)
		}
		if got := cfg.withDefaults().BatchSize; got != c.batch {
			t.Errorf("withDefaults(BufferSize %d).BatchSize = %d, want %d", c.buffer, got, c.batch)
		}
	}
	if err := (Config{Endpoint: "https://x/", BufferSize: 300, BatchSize: 301}).Validate(); err == nil {
		t.Error("Validate(BufferSize 300, BatchSize 301) = nil, want an error")
	}
}

// By default bodies are gzipped except to a loopback endpoint, where
// compressing only costs CPU; an explicit setting wins either way.
func TestCompressionByEndpoint(t *testing.T) {
	for _, c := range []struct {
		comp     Compression
		endpoint string
		want     bool
	}{
		{CompressionAuto, "https://telemetry.example.com", true},
		{CompressionAuto, "https://10.0.0.7:8443/x", true},
		{CompressionAuto, "http://localhost:4318", false},
		{CompressionAuto, "http://127.0.0.1:4318", false},
		{CompressionAuto, "http://[::1]:4318", false},
		{CompressionGzip, "http://127.0.0.1:4318", true},
		{CompressionNone, "https://telemetry.example.com", false},
	} {
		if got := c.comp.gzip(parseEndpoint(c.endpoint).loopback); got != c.want {
			t.Errorf("Compression %d to %s: gzip = %v, want %v", c.comp, c.endpoint, got, c.want)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]endpoint{
		"http://127.0.0.1:4318/":      {host: "127.0.0.1:4318", tls: false, loopback: true},
		"https://LOCALHOST":           {host: "LOCALHOST", tls: true, loopback: true},
		"https://telemetry.example/x": {host: "telemetry.example", tls: true, loopback: false},
		"http://[::1]:9/":             {host: "[::1]:9", tls: false, loopback: true},
		"http://10.1.2.3:80":          {host: "10.1.2.3:80", tls: false, loopback: false},
		"https://bad host\x7f/%zz":    {tls: true},
	} {
		if got := parseEndpoint(in); got != want {
			t.Errorf("parseEndpoint(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// The exporter's own transport writes over TLS through a buffer that holds
// a default batch gzipped; over plain http bodyConn needs none beyond
// net/http's default.
func TestOwnTransportWriteBuffer(t *testing.T) {
	for _, c := range []struct {
		tls  bool
		want int
	}{{true, tlsWriteBufferSize}, {false, 0}} {
		_, tr := newHTTPClient(nil, c.tls)
		if tr.WriteBufferSize != c.want {
			t.Errorf("tls %v: WriteBufferSize %d, want %d", c.tls, tr.WriteBufferSize, c.want)
		}
	}
	if _, tr := newHTTPClient(&http.Client{}, true); tr != nil {
		t.Error("a caller's client: the exporter claims a transport of its own")
	}
}
