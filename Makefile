# sqltel: the README's commands. `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: test vet fmt-check lint demo bench bench-instr soak soak-healthy soak-faults generate

test: fmt-check vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# vet also covers the nested bench module, which the root's ./... does not
# reach, so that make bench cannot rot unnoticed.
vet:
	$(GO) vet $(PKGS)
	cd bench && $(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

generate:
	$(GO) generate ./...

demo:
	$(GO) run ./examples/quickstart

# bench: the cost against the raw driver and the peers, interleaved rounds,
# one table of medians (see BENCHMARKS.md). The peers live in the nested
# module bench/ so they never enter the library's dependencies.
bench:
	cd bench && $(GO) run ./cmd/benchtable -rounds 9 -benchtime 200ms

# bench-instr: CPU instructions per statement under valgrind, all threads
# counted (exporter and GC included): repeatable on a shared machine where
# nanoseconds are not. About five minutes.
bench-instr:
	cd bench && $(GO) run ./cmd/instrtable -n 20000 -warmup 5000 -rounds 3

# soak: the two bounded soak runs, each printing statements, events
# recorded/delivered/dropped by reason, peak heap and goroutines before and
# after. soak-healthy: 30 s at a sustained statement rate with telemetry on
# against a healthy loopback collector; fails on any dropped event or a
# growing heap. soak-faults: 60 s against a collector running a random fault
# script (internal/faultcollector); fails on a broken stats invariant,
# stored != delivered, a leaked goroutine or a heap above its bound.
SEED ?= 1
soak: soak-healthy soak-faults

soak-healthy:
	cd bench && $(GO) run ./cmd/soak -d 30s

soak-faults:
	$(GO) run ./internal/soak -d 60s -seed $(SEED)

STATICCHECK_VERSION ?= v0.8.2
GOVULNCHECK_VERSION ?= v1.9.0
GOBIN ?= $(shell $(GO) env GOPATH)/bin

# lint: staticcheck (config in staticcheck.conf) and govulncheck, installed
# through the Go module proxy. govulncheck needs vuln.go.dev; where that is
# unreachable it says so and the target goes on rather than pretending.
lint:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...
	cd bench && $(GOBIN)/staticcheck ./...
	$(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@out=$$($(GOBIN)/govulncheck ./... 2>&1); rc=$$?; echo "$$out"; \
	if echo "$$out" | grep -q 'fetching vulnerabilities'; then \
		echo "lint: govulncheck could not reach the vulnerability database; not checked"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi
