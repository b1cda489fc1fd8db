package faultcollector

import (
	"fmt"
	"math/rand/v2"
)

// Fault is what the collector does with one request.
type Fault int

// The faults. Every fault happens before the collector stores anything,
// except where the client is bound to count the events as delivered anyway
// (a 2xx status line reached it): then the events are stored first, so that
// what the collector holds is exactly what the exporter counts as
// delivered.
const (
	// Healthy answers 200: for events an empty JSON object (every event
	// ok), for flags the configured flag value with a 900 s TTL.
	Healthy Fault = iota
	// Status500 answers 500 with a short text body.
	Status500
	// Status503 answers 503 with "Retry-After: 1" (seconds).
	Status503
	// Status429 answers 429 with an HTTP-date Retry-After one to two
	// seconds ahead.
	Status429
	// Status413 answers 413.
	Status413
	// Status400 answers 400.
	Status400
	// Status401 answers 401.
	Status401
	// Timeout holds the request, without answering, until the client gives
	// up (its timeout or its context), or the collector closes.
	Timeout
	// Reset hijacks the connection, writes half a status line and closes
	// it: a transport error for the client.
	Reset
	// ResetAfterHeaders stores the events, writes a complete 200 status
	// and headers, half of the promised body, and closes the connection: a
	// 2xx whose body cannot be read in full.
	ResetAfterHeaders
	// SlowHeaders waits Config.SlowDelay before answering as Healthy.
	SlowHeaders
	// Malformed answers 200 with a body that is not JSON.
	Malformed
	// Partial answers 200 with per-event results: event i of the request
	// is "retry" when i%3 == 0, "drop" when i%3 == 1 and "warning" when
	// i%3 == 2 (NDJSON requests ignore results: all stored). For flags it
	// is Healthy.
	Partial
	// HugeWait answers 200 with next_request_wait_ms of 1e18. For flags it
	// is Healthy.
	HugeWait
	// HugeBody answers 200 and streams a body of Config.HugeBodySize bytes
	// (a JSON prefix and then spaces), or until the client hangs up.
	HugeBody
	// Blackhole accepts the request and never answers, until the client
	// gives up or the collector closes.
	Blackhole
	// Redirect answers 307 to the same path on Config.RedirectTo (another
	// host). Without RedirectTo it is Healthy.
	Redirect

	numFaults
)

var faultNames = [...]string{
	Healthy:           "healthy",
	Status500:         "500",
	Status503:         "503+retry-after",
	Status429:         "429+retry-after-date",
	Status413:         "413",
	Status400:         "400",
	Status401:         "401",
	Timeout:           "timeout",
	Reset:             "reset",
	ResetAfterHeaders: "reset-after-headers",
	SlowHeaders:       "slow-headers",
	Malformed:         "malformed-2xx",
	Partial:           "partial",
	HugeWait:          "huge-wait",
	HugeBody:          "huge-body",
	Blackhole:         "blackhole",
	Redirect:          "redirect",
}

// String returns the fault's short name.
func (f Fault) String() string {
	if f >= 0 && f < numFaults {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Faults returns every fault, in order.
func Faults() []Fault {
	out := make([]Fault, numFaults)
	for i := range out {
		out[i] = Fault(i)
	}
	return out
}

// Step is the collector's answer to one request.
type Step struct {
	Fault Fault
}

// weights are Script's odds for each fault. Redirect is left out: it needs
// a second server.
var weights = [numFaults]int{
	Healthy:           30,
	Status500:         6,
	Status503:         5,
	Status429:         3,
	Status413:         5,
	Status400:         3,
	Status401:         2,
	Timeout:           2,
	Reset:             5,
	ResetAfterHeaders: 3,
	SlowHeaders:       5,
	Malformed:         4,
	Partial:           12,
	HugeWait:          4,
	HugeBody:          1,
	Blackhole:         2,
}

// Script returns n steps drawn from seed: the same seed always gives the
// same script. About a third of the steps are Healthy; every fault but
// Redirect appears with some weight.
func Script(seed int64, n int) []Step {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5c41b7))
	total := 0
	for _, w := range weights {
		total += w
	}
	steps := make([]Step, n)
	for i := range steps {
		x := r.IntN(total)
		for f, w := range weights {
			if x < w {
				steps[i] = Step{Fault: Fault(f)}
				break
			}
			x -= w
		}
	}
	return steps
}

// Steps turns faults into steps.
func Steps(faults ...Fault) []Step {
	out := make([]Step, len(faults))
	for i, f := range faults {
		out[i] = Step{Fault: f}
	}
	return out
}
