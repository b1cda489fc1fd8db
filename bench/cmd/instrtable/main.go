// Command instrtable prints what each wrapper costs in CPU instructions per
// statement, counted by valgrind (callgrind) over all of a process's threads:
// the exporter's goroutine, the garbage collector and the driver included.
// Unlike nanoseconds on a shared machine, these counts are the same from run
// to run, so ratios of a few percent mean something.
//
//	cd bench && go run ./cmd/instrtable -n 3000
//
// Each (workload, wrapper) runs cmd/instr twice, with 0 and with n
// iterations; the difference divided by n is the cost of one iteration,
// setup excluded. The "on" wrapper sends to a loopback sink collector that
// this command starts.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	wrappers := flag.String("wrappers", "raw,off,on,nop,otelsql,sqlmw", "comma-separated wrappers (raw first)")
	jobs := flag.Int("j", 2, "valgrind processes at once")
	flag.Parse()
	if err := run(*n, *warmup, strings.Split(*workloads, ","), strings.Split(*wrappers, ","), *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "instrtable:", err)
		os.Exit(1)
	}
}

type key struct {
	workload, wrapper string
	n                 int
}

var collected = regexp.MustCompile(`Collected : (\d+)`)

func run(n, warmup int, workloads, wrappers []string, jobs int) error {
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
	for _, wl := range workloads {
		for _, w := range wrappers {
			for _, iters := range []int{0, n} {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					c, err := count(bin, col.URL, wl, w, warmup, iters)
					mu.Lock()
					defer mu.Unlock()
					if err != nil && firstEr == nil {
						firstEr = err
					}
					counts[key{wl, w, iters}] = c
				})
			}
		}
	}
	wg.Wait()
	if firstEr != nil {
		return firstEr
	}

	fmt.Printf("Instructions per iteration (valgrind callgrind, all threads), n = %d after %d warm-up iterations; tx is 3 statements.\n\n", n, warmup)
	fmt.Println("| workload | wrapper | instructions/iteration | × raw |")
	fmt.Println("|---|---|---:|---:|")
	for _, wl := range workloads {
		per := func(w string) float64 {
			return float64(counts[key{wl, w, n}]-counts[key{wl, w, 0}]) / float64(n)
		}
		raw := per(wrappers[0])
		for _, w := range wrappers {
			fmt.Printf("| %s | %s | %.0f | %.3f |\n", wl, w, per(w), per(w)/raw)
		}
	}
	return nil
}

// count runs one workload under callgrind and returns the instructions it
// executed. asyncpreemptoff keeps the runtime from signalling its threads,
// which valgrind serialises anyway.
func count(bin, collector, workload, wrapper string, warmup, n int) (int64, error) {
	cmd := exec.Command("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
		bin, "-wrapper", wrapper, "-workload", workload, "-warmup", strconv.Itoa(warmup), "-n", strconv.Itoa(n), "-collector", collector)
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
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
