// Command benchtable runs the bench module's benchmarks in rotation and
// prints one Markdown table of medians and ratios to the raw driver, then
// the library's micro-benchmarks and the budgets.
//
// Every (wrapper, workload) pair is its own process, run once per round; the
// order of the wrappers rotates from round to round, so that a machine that
// gets slower or faster during the run (other jobs on a shared machine)
// weighs on every wrapper alike. A ratio is the median over rounds of the
// ratio to raw measured in the same round, a few seconds apart.
//
// Run it from the bench directory:
//
//	go run ./cmd/benchtable -rounds 5 -benchtime 200ms
//
// The PostgreSQL rows are added when SQLTEL_BENCH_POSTGRES_DSN is set.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sqltel/sqltel/bench"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds: each benchmark runs once per round")
	benchtime := flag.String("benchtime", "200ms", "go test -benchtime for each run")
	micro := flag.Bool("micro", true, "also run the library's micro-benchmarks (from the parent module)")
	backends := flag.String("backends", "", "comma-separated backends (sqlite, postgres); default: sqlite, and postgres when "+bench.PostgresEnv+" is set")
	flag.Parse()
	if err := run(os.Stdout, *rounds, *benchtime, *micro, *backends); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// result is one benchmark line.
type result struct {
	ns, bytes, allocs float64
	extra             map[string]float64 // other units, e.g. events/s
}

func run(out io.Writer, rounds int, benchtime string, micro bool, backendList string) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "benchtable-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	if err := goCmd(".", "test", "-c", "-o", bin, ".").Run(); err != nil {
		return fmt.Errorf("building the benchmarks: %w", err)
	}

	backends := []string{"sqlite"}
	if os.Getenv(bench.PostgresEnv) != "" {
		backends = append(backends, "postgres")
	}
	if backendList != "" {
		backends = strings.Split(backendList, ",")
	}

	// results[backend/wrapper/workload][round]
	results := map[string][]result{}
	for r := range rounds {
		for _, be := range backends {
			top := "BenchmarkSQLite"
			if be == "postgres" {
				top = "BenchmarkPostgres"
			}
			for _, wl := range bench.Workloads {
				ws := slices.Clone(bench.Wrappers)
				rot := r % len(ws)
				ws = append(ws[rot:], ws[:rot]...)
				for _, w := range ws {
					pattern := fmt.Sprintf("^%s$/^%s$/^%s$", top, w, wl)
					res, err := runOne(bin, pattern, benchtime)
					if err != nil {
						return err
					}
					key := be + "/" + string(w) + "/" + wl
					results[key] = append(results[key], res)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "benchtable: round %d/%d done (%s)\n", r+1, rounds, time.Since(start).Round(time.Second))
	}

	fmt.Fprintf(out, "Rounds: %d, -benchtime %s, medians over rounds; ratio = median of the per-round ratios to raw [min–max].\n\n", rounds, benchtime)
	fmt.Fprintln(out, "| backend | workload | wrapper | ns/op | × raw [min–max] | B/op | allocs/op | Δ allocs |")
	fmt.Fprintln(out, "|---|---|---|---:|---:|---:|---:|---:|")
	ratios := map[string]float64{}
	allocDelta := map[string]float64{}
	for _, be := range backends {
		for _, wl := range bench.Workloads {
			raw := results[be+"/raw/"+wl]
			for _, w := range bench.Wrappers {
				key := be + "/" + string(w) + "/" + wl
				rs := results[key]
				if len(rs) == 0 {
					continue
				}
				var rr []float64
				for i := range rs {
					rr = append(rr, rs[i].ns/raw[i].ns)
				}
				ratio := bench.Median(rr)
				da := bench.Median(field(rs, allocsOf)) - bench.Median(field(raw, allocsOf))
				ratios[key], allocDelta[key] = ratio, da
				fmt.Fprintf(out, "| %s | %s | %s | %.0f | %.3f [%.2f–%.2f] | %.0f | %.2f | %+.2f |\n",
					be, wl, w, bench.Median(field(rs, nsOf)), ratio, slices.Min(rr), slices.Max(rr),
					bench.Median(field(rs, bytesOf)), bench.Median(field(rs, allocsOf)), da)
			}
		}
	}

	var m map[string][]result
	if micro {
		fmt.Fprintln(os.Stderr, "benchtable: micro-benchmarks")
		if m, err = runMicro(rounds); err != nil {
			return err
		}
		fmt.Fprintln(out)
		fmt.Fprintln(out, "| micro-benchmark (parent module) | ns/op | B/op | allocs/op | other |")
		fmt.Fprintln(out, "|---|---:|---:|---:|---|")
		for _, name := range sortedKeys(m) {
			rs := m[name]
			var other []string
			for _, u := range sortedKeys(rs[0].extra) {
				other = append(other, fmt.Sprintf("%.0f %s", bench.Median(extraOf(rs, u)), u))
			}
			fmt.Fprintf(out, "| %s | %.1f | %.0f | %.0f | %s |\n", name,
				bench.Median(field(rs, nsOf)), bench.Median(field(rs, bytesOf)), bench.Median(field(rs, allocsOf)), strings.Join(other, ", "))
		}
	}

	fmt.Fprintln(out)
	fmt.Fprintln(out, "| budget | measured | met |")
	fmt.Fprintln(out, "|---|---|---|")
	budget := func(what, measured string, ok bool) {
		verdict := "yes"
		if !ok {
			verdict = "**no**"
		}
		fmt.Fprintf(out, "| %s | %s | %s |\n", what, measured, verdict)
	}
	// Allocations per statement are whole numbers on the query path; an
	// off-by-a-fraction median is the driver's own background (pgx's
	// caches, say) amortised over a run, not an extra allocation.
	// A row that was not measured (its backend not run, no rounds) has no
	// ratio: it must not read as 0×, within every budget.
	notMeasured := func(k, what string) bool {
		if _, ok := ratios[k]; ok {
			return false
		}
		fmt.Fprintf(out, "| %s | not measured | — |\n", what)
		return true
	}
	for _, be := range backends {
		for _, wl := range bench.Workloads {
			k := be + "/off/" + wl
			if notMeasured(k, fmt.Sprintf("%s %s, telemetry off", be, wl)) {
				continue
			}
			budget(fmt.Sprintf("%s %s, telemetry off: ≤ 1.02× raw, no extra allocation (Δ < 0.5)", be, wl),
				fmt.Sprintf("%.3f×, %+.2f allocs", ratios[k], allocDelta[k]), ratios[k] <= 1.02 && allocDelta[k] < 0.5)
		}
	}
	for _, wl := range bench.Workloads {
		k := "sqlite/on/" + wl
		if notMeasured(k, fmt.Sprintf("sqlite %s, telemetry on", wl)) {
			continue
		}
		limit, hasLimit := map[string]float64{"exec": 1.08, "queryrow": 1.10}[wl]
		per := allocDelta[k] / float64(bench.StatementsPerStep(wl))
		ok := per <= 1
		what := fmt.Sprintf("sqlite %s, telemetry on: ≤ 1 extra alloc per statement", wl)
		measured := fmt.Sprintf("%.3f×, %+.2f allocs/statement", ratios[k], per)
		if hasLimit {
			what = fmt.Sprintf("sqlite %s, telemetry on: ≤ %.2f× raw, ≤ 1 extra alloc per statement", wl, limit)
			ok = ok && ratios[k] <= limit
		}
		budget(what, measured, ok)
	}
	if micro {
		if rs := m["telemetry BenchmarkRecord"]; rs != nil {
			ns, al := bench.Median(field(rs, nsOf)), bench.Median(field(rs, allocsOf))
			budget("record ≤ 150 ns, 0 allocs", fmt.Sprintf("%.1f ns, %.0f allocs", ns, al), ns <= 150 && al == 0)
		}
		if rs := m["sqlfp BenchmarkFingerprint/200B"]; rs != nil {
			ns, al := bench.Median(field(rs, nsOf)), bench.Median(field(rs, allocsOf))
			budget("fingerprint of 200 B ≤ 400 ns, 0 allocs", fmt.Sprintf("%.1f ns, %.0f allocs", ns, al), ns <= 400 && al == 0)
		}
		if rs := m["telemetry BenchmarkEncodeGzip"]; rs != nil {
			eps := bench.Median(extraOf(rs, "events/s"))
			budget("encode+gzip ≥ 200 000 events/s on one core", fmt.Sprintf("%.0f events/s", eps), eps >= 200000)
		}
	}
	fmt.Fprintf(os.Stderr, "benchtable: done in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// runMicro runs the parent module's micro-benchmarks rounds times and
// returns them by "package Benchmark". The budgets' are run on one core
// (GOMAXPROCS=1: the budgets are per core); the connector's with an
// exporter at GOMAXPROCS=2, which needs two CPUs, as in production: on one, a loop that never blocks
// leaves the exporter's goroutine too little time, and it drops events.
func runMicro(rounds int) (map[string][]result, error) {
	out := map[string][]result{}
	for _, p := range []struct {
		pkg, pattern string
		oneCore      bool
	}{
		{"./telemetry", "^(BenchmarkRecord|BenchmarkEncodeGzip)$", true},
		{"./internal/sqlfp", "^BenchmarkFingerprint$", true},
		{"./connector", "^(BenchmarkConnectWarmFlagCache|BenchmarkExecRecording|BenchmarkQueryRowRecording|BenchmarkTxRecording)$", false},
		{"./driver", "^(BenchmarkNewConnector|BenchmarkConnectDefaultDSN)$", true},
	} {
		cmd := goCmd("..", "test", "-run", "^$", "-bench", p.pattern, "-benchmem",
			"-benchtime", "300ms", "-count", strconv.Itoa(rounds), p.pkg)
		procs := "2" // the exporter's goroutine needs a core of its own
		if p.oneCore {
			procs = "1"
		}
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs)
		var buf bytes.Buffer
		cmd.Stdout = &buf
		if err := cmd.Run(); err != nil {
			os.Stderr.Write(buf.Bytes())
			return nil, fmt.Errorf("%s: %w", p.pkg, err)
		}
		for name, r := range parse(&buf) {
			key := filepath.Base(p.pkg) + " " + name
			out[key] = append(out[key], r...)
		}
	}
	return out, nil
}

// runOne runs one benchmark of the test binary once.
func runOne(bin, pattern, benchtime string) (result, error) {
	cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", pattern,
		"-test.benchtime", benchtime, "-test.count", "1", "-test.benchmem")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		os.Stderr.Write(buf.Bytes())
		return result{}, fmt.Errorf("%s: %w", pattern, err)
	}
	for _, rs := range parse(&buf) {
		return rs[0], nil
	}
	os.Stderr.Write(buf.Bytes())
	return result{}, fmt.Errorf("%s: no benchmark line", pattern)
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// parse reads `go test -bench` output: for each benchmark (name without
// its -GOMAXPROCS suffix), one result per line.
func parse(r io.Reader) map[string][]result {
	out := map[string][]result{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		res := result{extra: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			switch f[i+1] {
			case "ns/op":
				res.ns = v
			case "B/op":
				res.bytes = v
			case "allocs/op":
				res.allocs = v
			default:
				res.extra[f[i+1]] = v
			}
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		out[name] = append(out[name], res)
	}
	return out
}

func goCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd
}

func nsOf(r result) float64    { return r.ns }
func bytesOf(r result) float64 { return r.bytes }

// allocsOf prefers the bench module's exact mallocs/op to the allocs/op
// that go test rounds down.
func allocsOf(r result) float64 {
	if v, ok := r.extra["mallocs/op"]; ok {
		return v
	}
	return r.allocs
}

func field(rs []result, f func(result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func extraOf(rs []result, unit string) []float64 {
	var out []float64
	for _, r := range rs {
		if v, ok := r.extra[unit]; ok {
			out = append(out, v)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
