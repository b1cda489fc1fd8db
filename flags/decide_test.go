package flags

import "testing"

func TestDecide(t *testing.T) {
	tests := []struct {
		mode     string
		env      map[string]string
		flag     bool
		want     bool
		wantCall bool
	}{
		{mode: "off", flag: true, want: false},
		{mode: "", flag: true, want: false},
		{mode: "bogus", flag: true, want: false},
		{mode: "on", flag: true, want: true, wantCall: true},
		{mode: "On", flag: false, want: false, wantCall: true},
		{mode: "force", flag: false, want: true},
		{mode: "on", env: map[string]string{"SQLTEL_TELEMETRY": "OFF"}, flag: true, want: false},
		{mode: "force", env: map[string]string{"SQLTEL_TELEMETRY": "0"}, want: false},
		{mode: "force", env: map[string]string{"SQLTEL_TELEMETRY": "false"}, want: false},
		{mode: "on", env: map[string]string{"SQLTEL_TELEMETRY": "on"}, flag: true, want: true, wantCall: true},
		{mode: "force", env: map[string]string{"DO_NOT_TRACK": "1"}, want: false},
		{mode: "on", env: map[string]string{"DO_NOT_TRACK": "true"}, flag: true, want: false},
		{mode: "on", env: map[string]string{"DO_NOT_TRACK": "0"}, flag: true, want: true, wantCall: true},
		{mode: "force", env: map[string]string{"DO_NOT_TRACK": "False"}, want: true},
		{mode: "off", env: map[string]string{"SQLTEL_TELEMETRY": "on"}, flag: true, want: false},
	}
	for _, tt := range tests {
		called := false
		flag := func() bool { called = true; return tt.flag }
		env := func(k string) string { return tt.env[k] }
		if got := Decide(tt.mode, env, flag); got != tt.want || called != tt.wantCall {
			t.Errorf("Decide(%q, %v, flag=%v) = %v, flag called %v; want %v, called %v",
				tt.mode, tt.env, tt.flag, got, called, tt.want, tt.wantCall)
		}
	}
}
