package collector

import (
	"cmp"
	"context"
	"math"
	"math/bits"
	"slices"
	"time"
)

// Report is the body of GET /v1/summary.
type Report struct {
	// Rows holds one entry per (host, fingerprint, stmt_kind), sorted by
	// host, then count (descending), then fingerprint and stmt_kind.
	// Operations without a statement (connect, ping, begin, commit...) are
	// grouped under the empty fingerprint.
	Rows []Row `json:"rows"`
	// Ops counts events per host and op: Ops["db.example.com"]["exec"].
	Ops map[string]map[string]int64 `json:"ops"`
}

// Row aggregates the events of one (host, fingerprint, stmt_kind).
type Row struct {
	Host        string `json:"host"`
	Fingerprint string `json:"fingerprint"` // 16 hex digits, "" for no statement
	StmtKind    string `json:"stmt_kind"`   // "" when the client sent none
	Count       int64  `json:"count"`
	// Ops counts the row's events per op, e.g. {"prepare":1,"stmt_query":9}.
	Ops map[string]int64 `json:"ops"`
	// Errors counts failed events per error category; {} when none failed.
	Errors map[string]int64 `json:"errors"`
	// Nearest-rank latency percentiles and maximum, in microseconds.
	P50US int64 `json:"p50_us"`
	P95US int64 `json:"p95_us"`
	P99US int64 `json:"p99_us"`
	MaxUS int64 `json:"max_us"`
	// RowsTotal sums the rows of the events that reported a row count;
	// events with an unknown count add nothing. It stops at MaxInt64
	// rather than wrap: a client may report any non-negative count.
	RowsTotal int64 `json:"rows_total"`
	// Histogram counts latencies in power-of-two buckets, from the first to
	// the last non-empty bucket.
	Histogram []Bucket `json:"histogram"`
}

// Bucket is one latency histogram bucket: LowUS <= latency < HighUS.
type Bucket struct {
	LowUS  int64 `json:"low_us"`
	HighUS int64 `json:"high_us"`
	Count  int64 `json:"count"`
}

// numBuckets covers every latency checkEvent accepts (maxLatencyUS < 2^46):
// bucket 0 is [0, 1) µs, bucket b ≥ 1 is [2^(b-1), 2^b) µs.
const numBuckets = 48

func bucketOf(latencyUS int64) int {
	return min(bits.Len64(uint64(latencyUS)), numBuckets-1)
}

func bucketBounds(b int) (low, high int64) {
	if b == 0 {
		return 0, 1
	}
	return 1 << (b - 1), 1 << b
}

// Summary returns the per-fingerprint rows of Report.
func (s *Server) Summary(ctx context.Context, host string, since time.Time) ([]Row, error) {
	r, err := s.Report(ctx, host, since)
	if err != nil {
		return nil, err
	}
	return r.Rows, nil
}

// Report aggregates the stored events of host ("" = every host) whose event
// time is at or after since (the zero time = all). Percentiles are exact: the
// latencies of each row are read into memory and sorted, which is simple and
// fine for a reference collector but linear in the number of events.
func (s *Server) Report(ctx context.Context, host string, since time.Time) (*Report, error) {
	type key struct{ host, fingerprint, kind string }
	type acc struct {
		row       Row
		latencies []int64
		buckets   [numBuckets]int64
	}
	groups := make(map[key]*acc)
	ops := make(map[string]map[string]int64)
	err := s.scanEvents(ctx, host, since, func(e storedEvent) {
		k := key{e.host, e.fingerprint, e.kind}
		a := groups[k]
		if a == nil {
			a = &acc{row: Row{
				Host: e.host, Fingerprint: e.fingerprint, StmtKind: e.kind,
				Ops: map[string]int64{}, Errors: map[string]int64{},
			}}
			groups[k] = a
		}
		a.row.Count++
		a.row.Ops[e.op]++
		if e.errCategory != "" {
			a.row.Errors[e.errCategory]++
		}
		if e.rows.Valid {
			a.row.RowsTotal = addSaturating(a.row.RowsTotal, e.rows.Int64)
		}
		a.latencies = append(a.latencies, e.latencyUS)
		a.buckets[bucketOf(e.latencyUS)]++
		if ops[e.host] == nil {
			ops[e.host] = map[string]int64{}
		}
		ops[e.host][e.op]++
	})
	if err != nil {
		return nil, err
	}
	report := &Report{Rows: make([]Row, 0, len(groups)), Ops: ops}
	for _, a := range groups {
		slices.Sort(a.latencies)
		a.row.P50US = percentile(a.latencies, 50)
		a.row.P95US = percentile(a.latencies, 95)
		a.row.P99US = percentile(a.latencies, 99)
		a.row.MaxUS = a.latencies[len(a.latencies)-1]
		a.row.Histogram = trimBuckets(a.buckets[:])
		report.Rows = append(report.Rows, a.row)
	}
	slices.SortFunc(report.Rows, func(x, y Row) int {
		return cmp.Or(
			cmp.Compare(x.Host, y.Host),
			cmp.Compare(y.Count, x.Count),
			cmp.Compare(x.Fingerprint, y.Fingerprint),
			cmp.Compare(x.StmtKind, y.StmtKind),
		)
	})
	return report, nil
}

// addSaturating returns a+b for non-negative a and b, or MaxInt64 when the
// sum does not fit.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// percentile returns the nearest-rank p-th percentile of sorted, which must
// not be empty: the smallest value such that at least p% of the values are
// less than or equal to it.
func percentile(sorted []int64, p int) int64 {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n) in integers
	return sorted[max(rank, 1)-1]
}

// trimBuckets returns the buckets from the first to the last non-empty one.
func trimBuckets(counts []int64) []Bucket {
	first := slices.IndexFunc(counts, func(c int64) bool { return c != 0 })
	if first < 0 {
		return nil
	}
	last := len(counts) - 1
	for counts[last] == 0 {
		last--
	}
	out := make([]Bucket, 0, last-first+1)
	for b := first; b <= last; b++ {
		low, high := bucketBounds(b)
		out = append(out, Bucket{LowUS: low, HighUS: high, Count: counts[b]})
	}
	return out
}
