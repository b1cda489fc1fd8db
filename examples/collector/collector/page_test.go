package collector

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// postPageEvents stores three fingerprints with different latency spreads
// and returns their fingerprints.
func postPageEvents(t *testing.T, ts *httptest.Server) []string {
	t.Helper()
	fps := []string{"1111111111111111", "2222222222222222", "3333333333333333"}
	var events []map[string]any
	n := 0
	for i, fp := range fps {
		for j := range 20 * (i + 1) {
			e := ev(n, "db.example.com", fp, "query", int64((j+1)*(j+1)*(i*40+1)))
			if j%7 == 0 {
				e["error"] = "deadline"
			}
			events = append(events, e)
			n++
		}
	}
	events = append(events, ev(n, "db.example.com", "", "connect", 900), ev(n+1, "cache.example.com", "", "ping", 30))
	postEvents(t, ts, batchJSON(t, events...))
	return fps
}

var (
	rowRE  = regexp.MustCompile(`<tr class="summary-row"[^>]*data-fingerprint="([0-9a-f]*)"`)
	svgRE  = regexp.MustCompile(`(?s)<svg class="histogram".*?</svg>`)
	rectRE = regexp.MustCompile(`<rect class="bar"[^>]*height="([0-9.]+)"`)
)

// checkPage asserts the summary table and the histograms of a page built
// from postPageEvents.
func checkPage(t *testing.T, page string, fps []string) {
	t.Helper()
	if !strings.Contains(page, `<table id="summary">`) {
		t.Fatalf("no table#summary in page:\n%s", page)
	}
	var got []string
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		got = append(got, m[1])
	}
	want := append(slices.Clone(fps), "", "") // connect and ping: no statement
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary rows by fingerprint (-want +got):\n%s", diff)
	}
	svgs := svgRE.FindAllString(page, -1)
	if len(svgs) != len(want) {
		t.Fatalf("found %d svg.histogram, want %d", len(svgs), len(want))
	}
	for i, svg := range svgs {
		bars := rectRE.FindAllStringSubmatch(svg, -1)
		if len(bars) == 0 {
			t.Errorf("histogram %d has no rect.bar:\n%s", i, svg)
		}
		for _, b := range bars {
			if b[1] == "0" {
				t.Errorf("histogram %d has an empty bar:\n%s", i, svg)
			}
		}
	}
	if !strings.Contains(page, `<table id="ops">`) {
		t.Error("no table#ops in page")
	}
}

func TestPage(t *testing.T) {
	_, ts := newSQLiteServer(t, Config{})
	res := do(t, http.MethodGet, ts.URL+"/", nil, nil)
	if res.status != 200 || !strings.Contains(string(res.body), `id="empty"`) {
		t.Errorf("empty page: status %d, body:\n%s", res.status, res.body)
	}

	fps := postPageEvents(t, ts)
	res = do(t, http.MethodGet, ts.URL+"/", nil, nil)
	if ct := res.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	checkPage(t, string(res.body), fps)

	// The host filter keeps one host's rows.
	res = do(t, http.MethodGet, ts.URL+"/?host=cache.example.com", nil, nil)
	if rows := rowRE.FindAllString(string(res.body), -1); len(rows) != 1 {
		t.Errorf("filtered page has %d rows, want 1", len(rows))
	}
	if !strings.Contains(string(res.body), `value="cache.example.com"`) {
		t.Error("filtered page does not show the host in the form")
	}

	res = do(t, http.MethodGet, ts.URL+"/?since=nonsense", nil, nil)
	if res.status != 400 || !strings.Contains(string(res.body), `id="error"`) {
		t.Errorf("bad since: status %d, want 400 with an error on the page", res.status)
	}
	if res := do(t, http.MethodGet, ts.URL+"/nope", nil, nil); res.status != 404 {
		t.Errorf("GET /nope: status %d, want 404", res.status)
	}
}

// TestPageEscapes checks that a host key cannot inject markup.
func TestPageEscapes(t *testing.T) {
	_, ts := newSQLiteServer(t, Config{})
	postEvents(t, ts, batchJSON(t, ev(1, `"><script>alert(1)</script>`, "", "ping", 1)))
	res := do(t, http.MethodGet, ts.URL+"/", nil, nil)
	if strings.Contains(string(res.body), "<script>") {
		t.Errorf("page contains an unescaped host:\n%s", res.body)
	}
}

// browserEnv makes a missing Chromium fail TestBrowser instead of skipping it.
const browserEnv = "SQLTEL_TEST_BROWSER"

func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv(browserEnv) == "1" {
		t.Fatalf("%s=1 but chromium is not at /usr/bin/chromium nor in PATH", browserEnv)
	}
	t.Skipf("chromium not found at /usr/bin/chromium nor in PATH; install it (apt-get install chromium) or set %s=1 to make this a failure", browserEnv)
	return ""
}

// TestBrowser renders the summary page in headless Chromium and checks the
// DOM it built: the table rows and the SVG histograms.
func TestBrowser(t *testing.T) {
	chromium := findChromium(t)
	_, ts := newSQLiteServer(t, Config{})
	fps := postPageEvents(t, ts)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--no-first-run", "--disable-sync", "--disable-component-update",
		"--user-data-dir="+t.TempDir(), "--dump-dom", ts.URL+"/")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom: %v\nstderr:\n%s", err, lastLines(stderr.String(), 20))
	}
	dom := stdout.String()
	checkPage(t, dom, fps)
	if t.Failed() {
		t.Logf("chromium stderr:\n%s", lastLines(stderr.String(), 20))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines omitted]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
