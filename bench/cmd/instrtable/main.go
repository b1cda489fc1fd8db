// Command instrtable prints what each wrapper costs in CPU instructions per
// statement, counted by valgrind (callgrind) over all of a process's threads:
// the exporter's goroutine, the garbage collector and the driver included.
// Unlike nanoseconds on a shared machine, these counts do not depend on what
// else the machine runs, so ratios of a few percent mean something. They
// still move by a percent or so from run to run, mostly with when the
// garbage collector's cycles fall: hence rounds and medians.
//
//	cd bench && go run ./cmd/instrtable -n 20000 -warmup 5000
//
// Each (workload, wrapper) runs cmd/instr twice per round, with 0 and with
// n iterations after the same warm-up; the difference divided by n is the
// cost of one iteration, setup excluded. The "on" wrapper sends to a
// loopback sink collector that this command starts.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sqltel/sqltel/bench"
)

func main() {
	bench.ServeCollectorIfChild()
	n := flag.Int("n", 3000, "iterations per measured run")
	warmup := flag.Int("warmup", 3000, "iterations before counting, in both runs of a pair")
	workloads := flag.String("workloads", strings.Join(bench.Workloads, ","), "comma-separated workloads")
	wrappers := flag.String("wrappers", bench.WrapperList(","), "comma-separated wrappers (raw first)")
	jobs := flag.Int("j", 2, "valgrind processes at once")
	rounds := flag.Int("rounds", 3, "measurements of each pair; the table shows medians")
	gogc := flag.String("gogc", "", "GOGC for the measured processes (off: count the code paths without garbage collection)")
	flag.Parse()
	if err := run(*n, *warmup, *rounds, *gogc, strings.Split(*workloads, ","), strings.Split(*wrappers, ","), *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "instrtable:", err)
		os.Exit(1)
	}
}

type key struct {
	workload, wrapper string
	n, round          int
}

var collected = regexp.MustCompile(`Collected : (\d+)`)

func run(n, warmup, rounds int, gogc string, workloads, wrappers []string, jobs int) error {
	if _, err := exec.LookPath("valgrind"); err != nil {
		return fmt.Errorf("valgrind is needed (apt-get install valgrind): %w", err)
	}
	dir, err := os.MkdirTemp("", "sqltel-instr-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "instr")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/instr").CombinedOutput(); err != nil {
		return fmt.Errorf("build cmd/instr: %v\n%s", err, out)
	}
	col, err := bench.StartCollector()
	if err != nil {
		return err
	}
	defer col.Close()

	var (
		mu      sync.Mutex
		counts  = map[key]int64{}
		firstEr error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, jobs)
	)
	for round := range rounds {
		for _, wl := range workloads {
			for _, w := range wrappers {
				for _, iters := range []int{0, n} {
					wg.Go(func() {
						sem <- struct{}{}
						defer func() { <-sem }()
						c, err := count(bin, col.URL, gogc, wl, w, warmup, iters)
						mu.Lock()
						defer mu.Unlock()
						if err != nil && firstEr == nil {
							firstEr = err
						}
						counts[key{wl, w, iters, round}] = c
					})
				}
			}
		}
	}
	wg.Wait()
	if firstEr != nil {
		return firstEr
	}

	gc := "the runtime's default garbage collection"
	if gogc != "" {
		gc = "GOGC=" + gogc
	}
	fmt.Printf("Instructions per iteration (valgrind callgrind, all threads), n = %d after %d warm-up iterations, %s; median of %d rounds, ratios to raw per round [min–max]; tx is 3 statements.\n\n", n, warmup, gc, rounds)
	fmt.Println("| workload | wrapper | instructions/iteration | × raw [min–max] |")
	fmt.Println("|---|---|---:|---:|")
	for _, wl := range workloads {
		per := func(w string, r int) float64 {
			return float64(counts[key{wl, w, n, r}]-counts[key{wl, w, 0, r}]) / float64(n)
		}
		for _, w := range wrappers {
			var its, ratios []float64
			for r := range rounds {
				its = append(its, per(w, r))
				ratios = append(ratios, per(w, r)/per(wrappers[0], r))
			}
			fmt.Printf("| %s | %s | %.0f | %.3f [%.3f–%.3f] |\n", wl, w, bench.Median(its), bench.Median(ratios), slices.Min(ratios), slices.Max(ratios))
		}
	}
	return nil
}

// count runs one workload under callgrind and returns the instructions it
// executed. asyncpreemptoff keeps the runtime from signalling its threads,
// which valgrind serialises anyway.
func count(bin, collector, gogc, workload, wrapper string, warmup, n int) (int64, error) {
	// fair-sched: by default valgrind lets a thread that never blocks (the
	// workload) starve the others (the exporter's goroutine), which a real
	// machine does not.
	cmd := exec.Command("valgrind", "--tool=callgrind", "--fair-sched=yes", "--callgrind-out-file=/dev/null",
		bin, "-wrapper", wrapper, "-workload", workload, "-warmup", strconv.Itoa(warmup), "-n", strconv.Itoa(n), "-collector", collector)
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	if gogc != "" {
		cmd.Env = append(cmd.Env, "GOGC="+gogc)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s/%s n=%d: %v\n%s", workload, wrapper, n, err, out.Bytes())
	}
	m := collected.FindSubmatch(out.Bytes())
	if m == nil {
		return 0, fmt.Errorf("%s/%s n=%d: no instruction count in valgrind's output", workload, wrapper, n)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}
