// Package version holds the library's version, shared by the flag fetcher and
// the exporter so that both identify the client the same way.
package version

// Version is sqltel's module version, sent to the telemetry service.
const Version = "0.1.0"

// Client is the client name sent to the telemetry service.
const Client = "sqltel-go"

// UserAgent is the User-Agent header of every request sqltel makes.
const UserAgent = Client + "/" + Version
