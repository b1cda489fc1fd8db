package connector

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sqltel/sqltel/flags"
	"github.com/sqltel/sqltel/internal/safelog"
	"github.com/sqltel/sqltel/telemetry"
)

var (
	_ driver.Connector = (*Connector)(nil)
	_ io.Closer        = (*Connector)(nil)
)

// Connector wraps a driver.Connector. Each Connect decides, once for the
// connection's lifetime, whether the connection records telemetry. With
// telemetry off (the default) connections are returned unwrapped, so the
// default costs nothing per statement; with it on, a connection whose flag
// says no is wrapped but records nothing. A Connector is safe for
// concurrent use, as database/sql needs.
type Connector struct {
	inner driver.Connector
	cfg   config
	flags *flags.Cache
	reg   *telemetry.Registry
	ep    flags.Endpoint
	tcfg  telemetry.Config

	mu  sync.Mutex
	exp *telemetry.Exporter // the exporter in use, pinned by the connector's own reference
	// replaced are the exporters exp replaced (stopped by
	// telemetry.Shutdown, say). Their stats still move: connections opened
	// before the stop keep recording into them, each event counted as
	// dropped at shutdown.
	replaced []*telemetry.Exporter
	pinned   bool // the connector holds a reference on exp
	live     int  // recording connections not yet closed
	closed   bool

	panics   atomic.Uint64
	flagWarn atomic.Bool
}

// New wraps inner. With no options telemetry is off and Connect returns the
// inner connections as they are. An invalid option (an unknown mode, telemetry
// on without an endpoint, a plain http endpoint off loopback) is an error
// here rather than a silent default.
func New(inner driver.Connector, opts ...Option) (*Connector, error) {
	if inner == nil {
		return nil, errors.New("sqltel: connector.New: inner connector is nil")
	}
	cfg := config{mode: ModeOff, host: "unknown", env: os.Getenv, logger: slog.Default()}
	for _, o := range opts {
		if o != nil { // a slice built with some options left out
			o(&cfg)
		}
	}
	// Logged on Connect and on a recovered panic: on the query path.
	cfg.logger = safelog.Logger(cfg.logger)
	switch cfg.mode {
	case ModeOff, ModeOn, ModeForce:
	case "":
		cfg.mode = ModeOff
	default:
		return nil, fmt.Errorf("sqltel: telemetry mode %q is not one of off, on, force", string(cfg.mode))
	}
	c := &Connector{inner: inner, cfg: cfg, flags: cfg.flagCache, reg: cfg.registry}
	if c.flags == nil {
		c.flags = flags.Default()
	}
	if c.reg == nil {
		c.reg = telemetry.Default()
	}
	c.ep = flags.Endpoint{URL: cfg.endpoint, Token: cfg.token, Client: cfg.httpClient}
	c.tcfg = telemetry.Config{
		Endpoint:        cfg.endpoint,
		Token:           cfg.token,
		HTTPClient:      cfg.httpClient,
		Insecure:        cfg.insecure,
		BufferSize:      cfg.bufferSize,
		BatchSize:       cfg.batchSize,
		FlushInterval:   cfg.flushInterval,
		ShutdownTimeout: cfg.shutdownTimeout,
		Format:          cfg.format,
		Compression:     cfg.compression,
		Logger:          cfg.logger,
		OnError:         cfg.onError,
	}
	if cfg.mode != ModeOff && cfg.recorder == nil {
		if cfg.endpoint == "" {
			return nil, errors.New("sqltel: telemetry is " + string(cfg.mode) + " but no endpoint is set (DSN telemetry_endpoint or connector.WithEndpoint)")
		}
		if err := c.tcfg.Validate(); err != nil {
			return nil, fmt.Errorf("sqltel: invalid telemetry settings (DSN telemetry_* parameters or connector options): %w", err)
		}
	}
	return c, nil
}

// Driver returns the inner connector's driver, so that code which inspects
// sql.DB.Driver() sees the driver it knows.
func (c *Connector) Driver() driver.Driver { return c.inner.Driver() }

// Connect implements driver.Connector. The inner connection is opened first.
// With telemetry off (the default) it is returned as it is. Otherwise it is
// wrapped, and it records if the mode and the host's flag say so, holding a
// reference on the flag context and on the exporter until it is closed.
// Only a host whose flag has never been asked for waits on the network here:
// for at most the flag fetch timeout and half of what is left of ctx, so the
// statement that opened the connection keeps time to run.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.cfg.mode == ModeOff {
		return c.inner.Connect(ctx)
	}
	start := c.now()
	ci, err := c.inner.Connect(ctx)
	if err != nil {
		return ci, err
	}
	latency := c.since(start)
	s := c.session(ctx)
	cw := &conn{inner: ci, s: s}
	cw.execer, cw.queryer = fastPaths(ci)
	if s.recording() {
		func() {
			defer s.recoverPanic()
			s.emit(telemetry.OpConnect, stmtID{}, start, latency, 0, -1, nil, false)
		}()
	}
	return mirrorConn(cw), nil
}

// session decides whether a new connection records and, if so, takes the
// references it will hold.
func (c *Connector) session(ctx context.Context) *session {
	s := &session{c: c, host: c.cfg.host, dbSystem: c.cfg.dbSystem, sqlite: isSQLite(c.cfg.dbSystem)}
	var fc *flags.Context
	on := flags.Decide(string(c.cfg.mode), c.cfg.env, func() bool {
		x, err := c.flags.Acquire(ctx, c.ep, c.cfg.host)
		if err != nil {
			c.warnOnce(&c.flagWarn, "sqltel: feature flag unavailable; telemetry stays off", err)
			return false
		}
		fc = x
		fctx, cancel := flagWaitContext(ctx)
		defer cancel()
		return x.Enabled(fctx)
	})
	c.mu.Lock()
	if on && !c.closed {
		c.live++
	} else {
		on = false
	}
	c.mu.Unlock()
	if !on {
		if fc != nil {
			fc.Release()
		}
		return s
	}
	rec := c.cfg.recorder
	var exp *telemetry.Exporter
	if rec == nil {
		var err error
		if exp, err = c.reg.Acquire(c.tcfg); err != nil {
			if fc != nil {
				fc.Release()
			}
			c.endSession()
			c.cfg.logger.Warn("sqltel: exporter unavailable; telemetry stays off", "error", err)
			return s
		}
		c.pin(exp)
		rec = exp
	}
	s.rec, s.connID = rec, rand.Uint64()
	s.release = func() {
		if exp != nil {
			exp.Release()
		}
		if fc != nil {
			fc.Release()
		}
		c.endSession()
	}
	return s
}

// flagWaitContext bounds the wait for a never-fetched flag to half of what
// is left of ctx, so that a slow flag service cannot use up the deadline of
// the statement that opened the connection. The flag cache bounds it by its
// fetch timeout too.
func flagWaitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, time.Until(deadline)/2)
}

// endSession counts a recording connection out. When the connector is closed
// and this was its last one, the connector's own exporter reference goes
// too; the drain that follows runs on its own goroutine, bounded by the
// shutdown budget, because this is a connection's Close on some user's
// goroutine (a Rows or Tx that outlived DB.Close).
func (c *Connector) endSession() {
	c.mu.Lock()
	c.live--
	exp, last := c.exp, c.closed && c.live == 0 && c.pinned
	if last {
		c.pinned = false
	}
	c.mu.Unlock()
	if last {
		go exp.Release()
	}
}

// pin makes exp the connector's exporter and gives the connector its own
// reference on it, held until Close (or, if connections outlive Close, until
// the last of them closes). Without it, a pool that closes its last idle
// connection (SetMaxIdleConns(0), ConnMaxLifetime, a bad connection) would
// stop the exporter and make that Close, on the user's goroutine, wait for a
// flush; with it, the last reference is in practice DB.Close. The caller
// holds a reference on exp, so it cannot stop meanwhile.
func (c *Connector) pin(exp *telemetry.Exporter) {
	c.mu.Lock()
	// No check of c.closed: this runs for a connection counted in c.live,
	// so Close cannot have given the pin back yet; the last endSession will.
	if c.exp == exp {
		c.mu.Unlock()
		return
	}
	old, oldPinned := c.exp, c.pinned
	// Usually a stopped exporter is replaced: the registry hands out the
	// running one. But a Connect that acquired exp before a Shutdown can
	// pin it after another pinned the new one: each exporter is counted
	// once, in replaced or as c.exp, never in both.
	if old != nil && !slices.Contains(c.replaced, old) {
		c.replaced = append(c.replaced, old)
	}
	if i := slices.Index(c.replaced, exp); i >= 0 {
		c.replaced = slices.Delete(slices.Clone(c.replaced), i, i+1) // Stats may be reading the old slice
	}
	c.exp, c.pinned = exp, false
	c.mu.Unlock()
	if oldPinned {
		old.Release()
	}
	again, err := c.reg.Acquire(c.tcfg)
	if err != nil {
		return
	}
	c.mu.Lock()
	if again == c.exp && !c.pinned {
		c.pinned = true
		again = nil
	}
	c.mu.Unlock()
	if again != nil {
		again.Release()
	}
}

// Close gives back the connector's reference on its exporter, then closes
// the inner connector when it is an io.Closer. database/sql's DB.Close calls
// it after closing every idle connection, so this is normally the exporter's
// last reference: it drains within the shutdown budget and stops. If other
// connectors still use the exporter, Close flushes it within the budget
// instead. Connections still in use (a Rows or Tx that outlives DB.Close)
// keep the exporter until the last of them closes, and that drain runs in
// the background. Connections opened after Close do not record. A second
// call only repeats the inner Close's answer.
func (c *Connector) Close() error {
	c.mu.Lock()
	exp, release := c.exp, c.pinned && c.live == 0 && !c.closed
	if release {
		c.pinned = false
	}
	c.closed = true
	c.mu.Unlock()
	if release {
		// Release first: if it is the last reference it drains within the
		// budget and the Flush below returns at once; if not, it returns at
		// once and the Flush spends the budget. Either way, one budget.
		exp.Release()
		budget := c.cfg.shutdownTimeout
		if budget <= 0 {
			budget = telemetry.DefaultShutdownTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		if err := exp.Flush(ctx); err != nil && !errors.Is(err, telemetry.ErrClosed) {
			c.cfg.logger.Debug("sqltel: flush on close", "error", err)
		}
		cancel()
	}
	if cl, ok := c.inner.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// Stats returns the stats of the exporter this connector records into
// (frozen once it has stopped, so they can be read after DB.Close), added to
// those of any exporter it used before; zero when it has not recorded. The
// exporter is shared by every connector with the same endpoint and token, so
// its stats count their events too.
func (c *Connector) Stats() telemetry.Stats {
	c.mu.Lock()
	exp, replaced := c.exp, c.replaced
	c.mu.Unlock()
	var s telemetry.Stats
	for _, old := range replaced { // append-only: the slice read is stable
		s = addStats(s, old.Stats())
	}
	if exp != nil {
		s = addStats(s, exp.Stats())
	}
	return s
}

func addStats(a, b telemetry.Stats) telemetry.Stats {
	a.Recorded += b.Recorded
	a.Delivered += b.Delivered
	a.Pending += b.Pending
	a.Requests += b.Requests
	a.Retries += b.Retries
	a.EventRetries += b.EventRetries
	a.Warnings += b.Warnings
	a.MalformedResponses += b.MalformedResponses
	a.Panics += b.Panics
	if b.LastSuccess.After(a.LastSuccess) {
		a.LastSuccess = b.LastSuccess
	}
	a.Dropped.Overflow += b.Dropped.Overflow
	a.Dropped.Rejected += b.Dropped.Rejected
	a.Dropped.RetriesExhausted += b.Dropped.RetriesExhausted
	a.Dropped.TooLarge += b.Dropped.TooLarge
	a.Dropped.Shutdown += b.Dropped.Shutdown
	a.Dropped.Internal += b.Dropped.Internal
	return a
}

// FlagStats returns the flag cache's counters for this connector's endpoint
// and host: fetches, errors, last fetch, current value and reference count.
// It is empty until telemetry is on and a connection has asked for the flag.
func (c *Connector) FlagStats() []flags.HostStats {
	if st, ok := c.flags.HostStats(c.ep, c.cfg.host); ok {
		return []flags.HostStats{st}
	}
	return nil
}

// Host returns the host key that flags are looked up by and events carry.
func (c *Connector) Host() string { return c.cfg.host }

// RecoveredPanics counts the panics raised inside sqltel's recording and
// recovered before they could reach a query.
func (c *Connector) RecoveredPanics() uint64 { return c.panics.Load() }

func (c *Connector) panicked(r any) {
	if c.panics.Add(1) == 1 {
		// The value is not logged: it could quote a statement.
		c.cfg.logger.Warn("sqltel: recovered a panic in telemetry recording; the query was not affected", "panic_type", fmt.Sprintf("%T", r))
	}
}

func (c *Connector) warnOnce(flag *atomic.Bool, msg string, err error) {
	if flag.CompareAndSwap(false, true) {
		c.cfg.logger.Warn(msg, "error", err)
	} else {
		c.cfg.logger.Debug(msg, "error", err)
	}
}
