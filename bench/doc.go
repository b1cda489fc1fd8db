// Package bench measures what sqltel costs on the query path, side by side
// with the raw driver and with two other database/sql wrappers
// (XSAM/otelsql with no-op providers, ngrok/sqlmw with a null interceptor).
//
// It is a module of its own so that the peers' dependencies never reach the
// library's go.mod. The pieces:
//
//   - Open builds a *sql.DB for one (Backend, Wrapper) pair; the benchmarks
//     in bench_test.go run the four workloads (Workloads) on each pair.
//   - StartCollector runs the reference collector on a loopback port, for
//     the "on" wrapper: a live exporter sending to a healthy collector.
//   - cmd/benchtable runs every benchmark in rotation for several rounds, so
//     that machine drift falls on every wrapper alike, and prints the table
//     kept in BENCHMARKS.md.
//   - cmd/soak runs statements as fast as the machine allows, with
//     telemetry on, and reports what was recorded, delivered and dropped and
//     how the heap moved.
//   - cmd/instrtable counts the CPU instructions of each (wrapper, workload)
//     under valgrind, running cmd/instr, which does the workload n times.
//   - cmd/steplat times every step of one workload and prints the median
//     and the tail, which a benchmark's mean cannot tell apart.
package bench
