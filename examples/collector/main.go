// Command collector runs the reference sqltel telemetry collector.
//
//	go run ./examples/collector -listen 127.0.0.1:4318 -db file:sqltel.db -enable '*'
//
// It serves the flags, ingestion and summary endpoints of package
// collector, logs as JSON lines on stderr and shuts down gracefully on
// SIGINT or SIGTERM. Open http://127.0.0.1:4318/ for the summary page.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sqltel/sqltel/examples/collector/collector"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		slog.Error("collector failed", "err", err)
		os.Exit(1)
	}
}

type options struct {
	listen   string
	dsn      string
	enable   []string
	nextWait time.Duration
	maxBody  int64
	flagTTL  time.Duration
	token    string
	logLevel slog.Level
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("collector", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4318", "address to listen on")
	dsn := fs.String("db", "file:sqltel.db", `database: a SQLite file ("file:sqltel.db", ":memory:") or a "postgres://" URL`)
	enable := fs.String("enable", "*", `comma-separated host keys for which telemetry is enabled; "*" enables all, "" none`)
	nextWaitMS := fs.Int64("next-wait-ms", 0, "next_request_wait_ms sent to clients after each batch")
	maxBody := fs.String("max-body", "8MiB", "largest events body, before and after decompression (e.g. 512KiB, 8MiB, 1000000)")
	flagTTL := fs.Duration("flag-ttl", collector.DefaultFlagTTL, "how long clients may cache the flags")
	token := fs.String("token", "", "bearer token required on POST /v1/events (default: $SQLTEL_COLLECTOR_TOKEN; empty: none)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o := options{listen: *listen, dsn: *dsn, flagTTL: *flagTTL, token: *token}
	if o.token == "" {
		o.token = os.Getenv("SQLTEL_COLLECTOR_TOKEN")
	}
	for h := range strings.SplitSeq(*enable, ",") {
		if h = strings.TrimSpace(h); h != "" {
			o.enable = append(o.enable, h)
		}
	}
	if *nextWaitMS < 0 {
		return options{}, fmt.Errorf("-next-wait-ms must not be negative")
	}
	o.nextWait = time.Duration(*nextWaitMS) * time.Millisecond
	var err error
	if o.maxBody, err = parseSize(*maxBody); err != nil {
		return options{}, fmt.Errorf("-max-body: %w", err)
	}
	if err := o.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return options{}, fmt.Errorf("-log-level: %w", err)
	}
	return o, nil
}

// parseSize parses a byte count with an optional unit: B, KB, MB, GB (powers
// of 1000) or KiB, MiB, GiB (powers of 1024), case-insensitive.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	mult := map[string]int64{
		"": 1, "b": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
	}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q", s, unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n * mult, nil
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel}))
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, dialect, err := collector.Open(o.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	srv, err := collector.New(collector.Config{
		DB:              db,
		Dialect:         dialect,
		Enable:          o.enable,
		FlagTTL:         o.flagTTL,
		NextRequestWait: o.nextWait,
		MaxBody:         o.maxBody,
		Token:           o.token,
		Logger:          log,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("collector listening", "addr", ln.Addr().String(), "dialect", dialect,
		"enable", o.enable, "max_body", o.maxBody, "token", o.token != "")

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal kills the process
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
