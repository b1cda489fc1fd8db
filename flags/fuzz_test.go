package flags

import (
	"encoding/json"
	"testing"
)

// FuzzParseAnswer feeds arbitrary bodies to the flag response parser: it
// never panics, accepts only valid JSON that holds a boolean
// flags.telemetry_enabled, and returns a TTL of 0 (absent) or within
// [minTTL, maxTTL].
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"flags":{"telemetry_enabled":true},"ttl_seconds":900}`,
		`{"flags":{"telemetry_enabled":false}}`,
		`{"flags":{"telemetry_enabled":true},"ttl_seconds":1e308}`,
		`{"flags":{"telemetry_enabled":true},"ttl_seconds":-1e308}`,
		`{"flags":{"telemetry_enabled":true},"ttl_seconds":0.0001}`,
		`{"flags":{"telemetry_enabled":"true"}}`,
		`{"flags":{"telemetry_enabled":null}}`,
		`{"flags":null}`,
		`{"flags":{}}`,
		`[]`,
		`null`,
		``,
		`{"flags":{"telemetry_enabled":true},"ttl_seconds":900,"extra":[1,2,{"x":null}]}`,
		`{"flags":{"telemetry_enabled":true,"telemetry_enabled":false}}`,
		`{"FLAGS":{"Telemetry_Enabled":true}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parseAnswer(body)
		if err != nil {
			if a != (Answer{}) {
				t.Errorf("error %v with a non-zero answer %+v", err, a)
			}
			return
		}
		if !json.Valid(body) {
			t.Errorf("accepted invalid JSON %q", body)
		}
		if a.TTL != 0 && (a.TTL < minTTL || a.TTL > maxTTL) {
			t.Errorf("TTL %v outside [%v, %v] for %q", a.TTL, minTTL, maxTTL, body)
		}
		var probe struct {
			Flags struct {
				TelemetryEnabled *bool `json:"telemetry_enabled"`
			} `json:"flags"`
		}
		if json.Unmarshal(body, &probe) != nil || probe.Flags.TelemetryEnabled == nil || *probe.Flags.TelemetryEnabled != a.Enabled {
			t.Errorf("answer %+v does not match the body %q", a, body)
		}
	})
}
