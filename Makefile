# sqltel: the README's commands. `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: test vet fmt-check demo bench soak generate

test: fmt-check vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

generate:
	$(GO) generate ./...

demo:
	$(GO) run ./examples/quickstart
