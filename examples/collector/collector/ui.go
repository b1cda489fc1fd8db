package collector

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// Histogram geometry, in SVG user units.
const (
	histWidth  = 200.0
	histHeight = 36.0
	histGap    = 1.0
)

// opOrder is the column order of the ops table.
var opOrder = []string{
	"connect", "ping", "exec", "query", "prepare", "stmt_exec", "stmt_query",
	"begin", "commit", "rollback", "close",
}

type pageData struct {
	Host, Since string
	Hosts       []string
	Error       string
	Total       int64
	Rows        []pageRow
	OpNames     []string
	Ops         []pageOps
	AxisLow     string // label of the first histogram bucket's lower bound
	AxisHigh    string // label of the last histogram bucket's upper bound
	HistWidth   float64
	HistHeight  float64
}

type pageRow struct {
	Row
	ID                 string // stable element id
	Errors             string
	P50, P95, P99, Max string
	Bars               []pageBar
}

type pageBar struct {
	X, Y, W, H float64
	Title      string
}

type pageOps struct {
	Host   string
	Counts []int64 // in OpNames order
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	data := pageData{HistWidth: histWidth, HistHeight: histHeight, Since: r.URL.Query().Get("since")}
	status := http.StatusOK
	host, since, err := summaryParams(r, time.Now())
	data.Host = host
	if err != nil {
		data.Error, status = err.Error(), http.StatusBadRequest
	} else if err := s.fillPage(r.Context(), &data, host, since); err != nil {
		s.log.Error("summary page failed", "err", err)
		data.Error, status = "summary failed; see the collector log", http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := s.page.Execute(w, data); err != nil {
		s.log.Error("render summary page", "err", err)
	}
}

// fillPage fills the page's view model from the store. Every histogram on
// the page spans the same bucket range so that the bars line up across rows.
func (s *Server) fillPage(ctx context.Context, data *pageData, host string, since time.Time) error {
	report, err := s.Report(ctx, host, since)
	if err != nil {
		return err
	}
	if data.Hosts, err = s.hosts(ctx); err != nil {
		return err
	}
	lo, hi := numBuckets, -1
	for _, row := range report.Rows {
		data.Total += row.Count
		if len(row.Histogram) > 0 {
			lo = min(lo, bucketOf(row.Histogram[0].LowUS))
			hi = max(hi, bucketOf(row.Histogram[len(row.Histogram)-1].LowUS))
		}
	}
	if hi >= 0 {
		low, _ := bucketBounds(lo)
		_, high := bucketBounds(hi)
		data.AxisLow, data.AxisHigh = formatUS(low), formatUS(high)
	}
	for i, row := range report.Rows {
		pr := pageRow{
			Row:    row,
			ID:     "row-" + strconv.Itoa(i),
			Errors: formatCounts(row.Errors),
			P50:    formatUS(row.P50US),
			P95:    formatUS(row.P95US),
			P99:    formatUS(row.P99US),
			Max:    formatUS(row.MaxUS),
		}
		pr.Bars = bars(row.Histogram, lo, hi)
		data.Rows = append(data.Rows, pr)
	}

	seen := map[string]bool{}
	for _, ops := range report.Ops {
		for op := range ops {
			seen[op] = true
		}
	}
	for _, op := range opOrder {
		if seen[op] {
			data.OpNames = append(data.OpNames, op)
		}
	}
	for _, host := range slices.Sorted(maps.Keys(report.Ops)) {
		po := pageOps{Host: host}
		for _, op := range data.OpNames {
			po.Counts = append(po.Counts, report.Ops[host][op])
		}
		data.Ops = append(data.Ops, po)
	}
	return nil
}

// bars lays out the non-empty buckets of hist on the bucket range lo..hi.
// Bar heights are linear in the count, relative to the row's largest bucket.
func bars(hist []Bucket, lo, hi int) []pageBar {
	var peak int64
	for _, b := range hist {
		peak = max(peak, b.Count)
	}
	if peak == 0 {
		return nil
	}
	slot := histWidth / float64(hi-lo+1)
	var out []pageBar
	for _, b := range hist {
		if b.Count == 0 {
			continue
		}
		h := max(1, histHeight*float64(b.Count)/float64(peak))
		out = append(out, pageBar{
			X:     round1(float64(bucketOf(b.LowUS)-lo) * slot),
			Y:     round1(histHeight - h),
			W:     round1(max(slot-histGap, 1)),
			H:     round1(h),
			Title: fmt.Sprintf("%s – %s: %d", formatUS(b.LowUS), formatUS(b.HighUS), b.Count),
		})
	}
	return out
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// formatUS formats a latency in microseconds for people: 850µs, 1.2ms, 3.4s.
func formatUS(us int64) string {
	d := time.Duration(us) * time.Microsecond
	switch {
	case us < 1000:
		return strconv.FormatInt(us, 10) + "µs"
	case d < time.Second:
		return threeDigits(float64(us)/1e3) + "ms"
	default:
		return threeDigits(d.Seconds()) + "s"
	}
}

// threeDigits formats f ≥ 1 with about three significant digits, without an
// exponent: 1.25, 12.5, 125, 1250.
func threeDigits(f float64) string {
	prec := 0
	switch {
	case f < 10:
		prec = 2
	case f < 100:
		prec = 1
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

// formatCounts formats {"syntax":2,"other":1} as "other 1, syntax 2".
func formatCounts(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+" "+strconv.FormatInt(m[k], 10))
	}
	return strings.Join(parts, ", ")
}
