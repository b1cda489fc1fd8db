package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sqltel/sqltel/internal/version"
)

// errRedirectRefused is returned by the redirect policy; a request that
// ends with it is rejected, not retried.
var errRedirectRefused = errors.New("telemetry: redirect refused")

// tlsWriteBufferSize is the write buffer of the exporter's own transport
// for an https endpoint.
const tlsWriteBufferSize = 64 << 10

// ownTransport returns a transport for the exporter alone, like base (a
// clone of it when it is an *http.Transport), whose connections are
// bodyConns.
func ownTransport(base http.RoundTripper) *http.Transport {
	var tr *http.Transport
	if bt, ok := base.(*http.Transport); ok {
		tr = bt.Clone()
	} else {
		// A custom dialer turns net/http's automatic HTTP/2 off unless
		// asked for, as http.DefaultTransport does.
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	dial := tr.DialContext
	if dial == nil && tr.Dial != nil {
		old := tr.Dial // a base transport with the deprecated hook only
		dial = func(_ context.Context, network, addr string) (net.Conn, error) { return old(network, addr) }
	}
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = bodyDialer(dial)
	return tr
}

// newHTTPClient returns the client requests are sent with, and the
// transport the exporter owns (nil when the caller supplied the client).
func newHTTPClient(c *http.Client, tls bool) (*http.Client, *http.Transport) {
	if c != nil {
		cp := *c // copy: the caller's client keeps its own policy
		cp.CheckRedirect = redirectPolicy(c.CheckRedirect)
		return &cp, nil
	}
	tr := ownTransport(http.DefaultTransport)
	// The part of a body beyond the write buffer is written by bodyConn as
	// it is, so over plain http net/http's default 4 KiB buffer costs
	// nothing per request and little memory. Over TLS net/http writes to
	// the tls.Conn above bodyConn, whose copy allocates 32 KiB per request
	// for a body over the buffer: a default batch gzipped (about 40 KB)
	// fits in 64 KiB. (HTTP/2 has buffers of its own.)
	if tls {
		tr.WriteBufferSize = tlsWriteBufferSize
	}
	return &http.Client{Transport: tr, CheckRedirect: redirectPolicy(nil)}, tr
}

// redirectPolicy refuses redirects that change the method, go to another
// host or downgrade from https to http, then defers to next (or to the
// default limit of 10). net/http follows a 301, 302 or 303 to a POST with
// a GET without a body: whatever answered it did not receive the batch,
// and its 200 must not count the events as delivered.
func redirectPolicy(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if req.Method != via[0].Method {
			return fmt.Errorf("%w: it turns the %s into a %s without the body (only 307 and 308 keep it)", errRedirectRefused, via[0].Method, req.Method)
		}
		orig := via[0].URL
		if !strings.EqualFold(req.URL.Host, orig.Host) {
			return fmt.Errorf("%w: to another host (%s)", errRedirectRefused, req.URL.Host)
		}
		if orig.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: from https to %s", errRedirectRefused, req.URL.Scheme)
		}
		if next != nil {
			// The caller's own refusal is a refusal too: resending would
			// meet the same redirect. ErrUseLastResponse is not one: the
			// 3xx comes back as the answer, and is rejected as a status.
			err := next(req, via)
			if err != nil && !errors.Is(err, http.ErrUseLastResponse) {
				err = fmt.Errorf("%w: %w", errRedirectRefused, err)
			}
			return err
		}
		if len(via) >= 10 {
			return fmt.Errorf("%w: after 10 redirects", errRedirectRefused)
		}
		return nil
	}
}

// result is the outcome of one HTTP attempt.
type result struct {
	status        int // 0 when err != nil
	body          []byte
	retryAfter    time.Duration
	hasRetryAfter bool
	err           error // transport error, timeout, refused redirect
}

// post sends one attempt of b with the given body.
func (e *Exporter) post(ctx context.Context, b *batch, body []byte, gzipped bool) result {
	// The transport may still be reading the body after the answer came
	// (a server that answers before reading it all): the encoder must not
	// write into it until the transport is done with it (see reqBody).
	if e.transport != nil {
		rb := new(reqBody)
		e.enc.lend(rb)
		ctx = httptrace.WithClientTrace(ctx, rb.trace())
	}
	// A *bytes.Reader also sets ContentLength and GetBody.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	// The keys are written in canonical form: Header.Set would
	// canonicalize each of them again for every request.
	// The values that are the same for every request are shared: a
	// RoundTripper does not modify its request.
	h := req.Header
	h["Content-Type"] = e.headers.contentType
	if gzipped {
		h["Content-Encoding"] = e.headers.gzip
	}
	h["User-Agent"] = e.headers.userAgent
	h["Sqltel-Request-Id"] = []string{b.requestID}
	h["Sqltel-Attempt"] = []string{strconv.Itoa(b.attempts)}
	if e.headers.auth != nil {
		h["Authorization"] = e.headers.auth
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	res := result{status: resp.StatusCode}
	// A 2xx whose body cannot be read in full is still an acceptance: the
	// truncated body is then malformed, never a reason to resend.
	// The body is read into a buffer kept for the next answer: it is parsed
	// before the next request is sent.
	e.respBuf.Reset()
	e.respBuf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody))
	res.body = e.respBuf.Bytes()
	if v := resp.Header.Get("Retry-After"); v != "" {
		res.retryAfter, res.hasRetryAfter = parseRetryAfter(v, e.cfg.Clock())
	}
	return res
}

func errorsIsRedirect(err error) bool { return errors.Is(err, errRedirectRefused) }

// constHeaders are the header values every request of an exporter sends.
type constHeaders struct {
	contentType, gzip, userAgent, auth []string
}

func newConstHeaders(contentType, auth string) constHeaders {
	h := constHeaders{contentType: []string{contentType}, gzip: []string{"gzip"}, userAgent: []string{version.UserAgent}}
	if auth != "" {
		h.auth = []string{auth}
	}
	return h
}

// reqBody tells the encoder when the exporter's own transport is done with
// a body.
//
// The body goes to the transport as a plain *bytes.Reader, which net/http
// knows to be in memory: it copies the headers and the start of the body
// into its write buffer and hands the rest to bodyConn, which writes it
// without a copy. Any other reader (one that reports its Close, say) makes
// it flush the headers on their own first. So a wrapper cannot say when the
// body was read, and net/http's trace hooks do: every attempt (a
// redirect is another) gets a connection before it writes and reports when
// it wrote. A count rather than a flag keeps attempts apart should they
// overlap (net/http on go1.26 waits for one attempt's write before the
// next; nothing in its contract promises that).
//
// A caller's client may have any RoundTripper, which need not call the
// hooks and may read the body after RoundTrip returned; and net/http's
// client closes a redirected request's body while the transport may still
// be writing it, so its Close says nothing either. With a caller's client
// the encoder takes fresh buffers for every request (see encoder.fresh).
type reqBody struct {
	writing atomic.Int32 // attempts that may still read the body
}

// trace returns the hooks that follow the attempts' writes.
func (b *reqBody) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn:      func(httptrace.GotConnInfo) { b.writing.Add(1) },
		WroteRequest: func(httptrace.WroteRequestInfo) { b.writing.Add(-1) },
	}
}

// done reports whether no attempt may still read the body. Before any
// connection was got the transport has not touched the body; an attempt
// whose write never reports back keeps it false, which only costs fresh
// buffers.
func (b *reqBody) done() bool { return b.writing.Load() <= 0 }
