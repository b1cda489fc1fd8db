package collector

import (
	"cmp"
	"compress/gzip"
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultFlagTTL = 15 * time.Minute
	DefaultMaxBody = 8 << 20 // 8 MiB
)

// MaxBatchEvents is the most events POST /v1/events takes in one request;
// above it the answer is 413, which makes a sqltel client split the batch.
// It is the largest batch the sqltel DSN allows (a program may configure
// larger ones in code; the 413 splits them), and it bounds the results of
// one answer whatever the body size.
const MaxBatchEvents = 10_000

// maxDetails bounds the details of one answer: they are for people, and the
// first ones say what is wrong with a batch as well as all of them would.
const maxDetails = 100

// Config configures a Server. DB and Dialect are required.
type Config struct {
	// DB holds the events; New creates the sqltel_events table in it. The
	// Server does not close it.
	DB *sql.DB
	// Dialect is DialectSQLite or DialectPostgres, as returned by Open.
	Dialect string
	// Enable lists the host keys for which GET /v1/flags reports telemetry
	// as enabled; "*" enables every host. Comparison ignores case and
	// surrounding space. Empty enables none.
	Enable []string
	// FlagTTL is the ttl_seconds sent with the flags. Zero means
	// DefaultFlagTTL.
	FlagTTL time.Duration
	// NextRequestWait is sent to clients as next_request_wait_ms after each
	// accepted batch: how long to wait before the next POST. Zero means no
	// wait.
	NextRequestWait time.Duration
	// MaxBody limits a POST /v1/events body, before and after gzip
	// decompression. Zero means DefaultMaxBody.
	MaxBody int64
	// Token, when not empty, is the bearer token POST /v1/events requires
	// (401 otherwise). The other endpoints are not protected.
	Token string
	// Logger receives structured logs. Nil discards them.
	Logger *slog.Logger
}

// Server is the collector. Its methods are safe for concurrent use.
type Server struct {
	db        *sql.DB
	dialect   string
	enableAll bool
	enabled   map[string]bool
	flagTTL   time.Duration
	nextWait  time.Duration
	maxBody   int64
	token     string
	log       *slog.Logger
	page      *template.Template
}

// New checks cfg, creates the schema if it does not exist (this is
// idempotent, so restarting on an existing database is fine) and returns a
// Server.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("collector: Config.DB is nil")
	}
	if cfg.Dialect != DialectSQLite && cfg.Dialect != DialectPostgres {
		return nil, fmt.Errorf("collector: unknown dialect %q (want %q or %q)", cfg.Dialect, DialectSQLite, DialectPostgres)
	}
	if cfg.FlagTTL < 0 || cfg.NextRequestWait < 0 || cfg.MaxBody < 0 {
		return nil, errors.New("collector: FlagTTL, NextRequestWait and MaxBody must not be negative")
	}
	s := &Server{
		db:       cfg.DB,
		dialect:  cfg.Dialect,
		enabled:  make(map[string]bool),
		flagTTL:  cmp.Or(cfg.FlagTTL, DefaultFlagTTL),
		nextWait: cfg.NextRequestWait,
		maxBody:  cmp.Or(cfg.MaxBody, DefaultMaxBody),
		token:    cfg.Token,
		log:      cfg.Logger,
		page:     pageTemplate,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, h := range cfg.Enable {
		h = normalizeHost(h)
		if h == "*" {
			s.enableAll = true
		} else if h != "" {
			s.enabled[h] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := createSchema(ctx, s.db); err != nil {
		return nil, err
	}
	return s, nil
}

func normalizeHost(h string) string { return strings.ToLower(strings.TrimSpace(h)) }

// Handler returns the HTTP handler serving every endpoint of the package
// comment.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /v1/flags", s.handleFlags)
	mux.HandleFunc("POST /v1/events", s.handleEvents)
	mux.HandleFunc("GET /v1/summary", s.handleSummary)
	mux.HandleFunc("GET /{$}", s.handlePage)
	return s.logRequests(mux)
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	if err := s.db.PingContext(r.Context()); err != nil {
		s.log.Error("health check: database unreachable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type flagsResponse struct {
	Flags struct {
		TelemetryEnabled bool `json:"telemetry_enabled"`
	} `json:"flags"`
	TTLSeconds int64 `json:"ttl_seconds"`
}

func (s *Server) handleFlags(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	host := normalizeHost(q.Get("host"))
	if host == "" {
		writeError(w, http.StatusBadRequest, "missing host parameter")
		return
	}
	var resp flagsResponse
	resp.Flags.TelemetryEnabled = s.enableAll || s.enabled[host]
	resp.TTLSeconds = int64(s.flagTTL / time.Second)
	s.log.Debug("flags", "host", truncate(host, maxHostLen), "enabled", resp.Flags.TelemetryEnabled,
		"client", truncate(q.Get("client"), 32), "version", truncate(q.Get("version"), 32))
	writeJSON(w, http.StatusOK, resp)
}

type eventsResponse struct {
	// Results lists only the events that are not "ok"; see the package
	// comment.
	Results map[string]string `json:"results"`
	// Details says why the first maxDetails events in Results are not ok;
	// DetailsOmitted counts the others.
	Details           map[string]string `json:"details,omitempty"`
	DetailsOmitted    int               `json:"details_omitted,omitempty"`
	NextRequestWaitMS int64             `json:"next_request_wait_ms"`
	Accepted          int               `json:"accepted"`
	Stored            int64             `json:"stored"`
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if s.token != "" && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sqltel"`)
		writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return
	}
	var parse func([]byte) (*batch, error)
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		parse = parseJSONBody
	case "application/x-ndjson":
		parse = parseNDJSONBody
	default:
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json or application/x-ndjson")
		return
	}
	data, status, err := s.readBody(r)
	if err != nil {
		if status == http.StatusRequestEntityTooLarge {
			// The rest of the body is not read: make the server close the
			// connection instead of draining it.
			w.Header().Set("Connection", "close")
		}
		writeError(w, status, err.Error())
		return
	}
	b, err := parse(data)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errTooManyEvents) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, err.Error())
		return
	}

	resp := eventsResponse{
		Results:           map[string]string{},
		Details:           map[string]string{},
		NextRequestWaitMS: s.nextWait.Milliseconds(),
	}
	checks := make([]checked, len(*b.Events))
	valid := make([]event, 0, len(*b.Events))
	storedAt := make(map[string]int, len(*b.Events)) // id -> index of the copy stored
	dropped := 0
	for i, raw := range *b.Events {
		c := checkEvent(i, raw)
		checks[i] = c
		if c.status == resultDrop {
			dropped++
			continue
		}
		resp.Accepted++
		if _, dup := storedAt[c.ev.ID]; !dup { // a duplicate within the batch is stored once
			storedAt[c.ev.ID] = i
			valid = append(valid, c.ev)
		}
	}
	for _, c := range checks {
		// The client reads one result per id: every copy of an id that was
		// stored answers as the stored copy, even one that failed checking,
		// or the client would count as rejected an event the store holds.
		if j, ok := storedAt[strings.ToLower(c.key)]; ok {
			if c.status == resultDrop { // counted as the stored copy: accepted
				dropped--
				resp.Accepted++
			}
			c.status, c.reason = checks[j].status, checks[j].reason
		}
		if _, done := resp.Results[c.key]; done || c.status == resultOK {
			continue
		}
		resp.Results[c.key] = c.status
		if len(resp.Details) < maxDetails {
			resp.Details[c.key] = c.reason
		} else {
			resp.DetailsOmitted++
		}
	}

	requestID := cmp.Or(r.Header.Get("Sqltel-Request-Id"), b.RequestID)
	log := s.log.With(
		"request_id", truncate(requestID, 64),
		"attempt", truncate(r.Header.Get("Sqltel-Attempt"), 8),
		"user_agent", truncate(r.UserAgent(), 64),
	)
	resp.Stored, err = s.store(r.Context(), valid)
	if err != nil {
		log.Error("storing events failed; client asked to retry", "events", len(valid), "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "storage unavailable, retry later")
		return
	}
	log.Info("events received", "events", len(*b.Events), "accepted", resp.Accepted,
		"dropped", dropped, "stored", resp.Stored)
	writeJSON(w, http.StatusOK, resp)
}

// authorized reports whether r carries the configured bearer token.
func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.token)) == 1
}

// readBody reads the request body, decompressing it if needed. Both the
// body as sent and the decompressed body are limited to s.maxBody, so a small
// gzip bomb cannot make the collector read more than that into memory. On
// error it returns the HTTP status to answer with.
func (s *Server) readBody(r *http.Request) ([]byte, int, error) {
	tooLarge := fmt.Errorf("body larger than %d bytes", s.maxBody)
	if r.ContentLength > s.maxBody {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	body := http.MaxBytesReader(nil, r.Body, s.maxBody)
	var rd io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, readErrorStatus(err), fmt.Errorf("bad gzip body: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q", truncate(enc, 32))
	}
	data, err := io.ReadAll(io.LimitReader(rd, s.maxBody+1))
	if err != nil {
		if status := readErrorStatus(err); status == http.StatusRequestEntityTooLarge {
			return nil, status, tooLarge
		}
		return nil, http.StatusBadRequest, fmt.Errorf("cannot read body: %w", err)
	}
	if int64(len(data)) > s.maxBody {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("decompressed body larger than %d bytes", s.maxBody)
	}
	return data, http.StatusOK, nil
}

func readErrorStatus(err error) int {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	host, since, err := summaryParams(r, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	report, err := s.Report(r.Context(), host, since)
	if err != nil {
		s.log.Error("summary failed", "err", err)
		writeError(w, http.StatusInternalServerError, "summary failed")
		return
	}
	writeJSON(w, http.StatusOK, report)
}

// summaryParams reads the host and since query parameters. since is an
// RFC 3339 time, a Go duration meaning "that long before now" (e.g. "1h"),
// or empty for all time.
func summaryParams(r *http.Request, now time.Time) (host string, since time.Time, err error) {
	q := r.URL.Query()
	host = strings.TrimSpace(q.Get("host"))
	if host != "" && !validHost(host) {
		return "", time.Time{}, fmt.Errorf("host must be at most %d bytes of printable UTF-8", maxHostLen)
	}
	v := strings.TrimSpace(q.Get("since"))
	if v == "" {
		return host, time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return host, t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return host, now.Add(-d), nil
	}
	return "", time.Time{}, fmt.Errorf("since must be an RFC 3339 time or a duration such as 1h, got %q", truncate(v, 64))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// logRequests logs each request at debug level, and at warn level when it
// failed.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.status >= 400 {
			level = slog.LevelWarn
		}
		s.log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration", time.Since(start), "remote", r.RemoteAddr)
	})
}

// statusWriter records the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
