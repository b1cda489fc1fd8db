package driver

import (
	"github.com/sqltel/sqltel/connector"
	"github.com/sqltel/sqltel/telemetry"
)

// options turns the DSN's parameters into connector options. Only the
// parameters the DSN gave become options, so the code's own options (and the
// connector's defaults) stand for the rest.
func (p *params) options() []connector.Option {
	var opts []connector.Option
	if p.has(setMode) {
		opts = append(opts, connector.WithMode(connector.Mode(p.mode)))
	}
	if p.has(setEndpoint) {
		opts = append(opts, connector.WithEndpoint(p.endpoint))
	}
	if p.has(setHost) {
		opts = append(opts, connector.WithHost(p.host))
	}
	if p.has(setToken) {
		opts = append(opts, connector.WithToken(p.token))
	}
	if p.has(setInsecure) {
		opts = append(opts, connector.WithInsecure(p.insecure))
	}
	if p.has(setBufferSize) {
		opts = append(opts, connector.WithBufferSize(p.bufferSize))
	}
	if p.has(setBatchSize) {
		opts = append(opts, connector.WithBatchSize(p.batchSize))
	}
	if p.has(setFlushInterval) {
		opts = append(opts, connector.WithFlushInterval(p.flushInterval))
	}
	if p.has(setShutdownTimeout) {
		opts = append(opts, connector.WithShutdownTimeout(p.shutdownTimeout))
	}
	if p.has(setFormat) {
		f := telemetry.FormatJSON
		if p.format == "ndjson" {
			f = telemetry.FormatNDJSON
		}
		opts = append(opts, connector.WithFormat(f))
	}
	if p.has(setGzip) {
		opts = append(opts, connector.WithGzip(p.gzip))
	}
	if p.has(setSQL) {
		opts = append(opts, connector.WithStatementText(p.sql == "normalized"))
	}
	return opts
}
