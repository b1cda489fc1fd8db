package flags

import (
	"os"
	"strings"
)

// Decide applies sqltel's precedence for whether a connection sends
// telemetry. mode is the DSN's telemetry setting: "off", "on" or "force"
// (case-insensitive; anything else counts as "off", because telemetry is
// opt-in). In order:
//
//   - mode "off": false;
//   - the user opted out in the environment (SQLTEL_TELEMETRY is "off", "0"
//     or "false", or DO_NOT_TRACK is set to anything but "", "0" or
//     "false"): false, even for "force";
//   - mode "force": true, bypassing the server-side flag;
//   - mode "on": flag(), the server-side kill switch.
//
// flag is called only in the last case, so the flag service is never asked
// on behalf of a connection that would not use the answer. A nil env means
// os.Getenv; a nil flag means false.
func Decide(mode string, env func(string) string, flag func() bool) bool {
	mode = strings.ToLower(strings.TrimSpace(mode))
	if mode != "on" && mode != "force" {
		return false
	}
	if env == nil {
		env = os.Getenv
	}
	if optedOut(env) {
		return false
	}
	if mode == "force" {
		return true
	}
	return flag != nil && flag()
}

func optedOut(env func(string) string) bool {
	switch strings.ToLower(strings.TrimSpace(env("SQLTEL_TELEMETRY"))) {
	case "off", "0", "false":
		return true
	}
	switch strings.ToLower(strings.TrimSpace(env("DO_NOT_TRACK"))) {
	case "", "0", "false":
		return false
	}
	return true
}
