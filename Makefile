# tickd — run `make help` for the targets.
SHELL := /bin/bash
# pipefail: a command that fails before a pipe into tee (make bench) fails the target, which tee's own status would hide.
.SHELLFLAGS := -o pipefail -c
GO ?= go
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT := $(GO) run golang.org/x/perf/cmd/benchstat@latest
BIN := bin/tickd
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
PKGS := ./...
BENCH_COUNT ?= 6
BENCH_OUT ?= bench/results/latest.txt
FUZZ_TIME ?= 30s
ITCH_MSGS ?= 50000000
# The profile `go build ./cmd/tickd` optimises with (it finds it itself);
# the benchmarks are built with it too, so that they time the code the
# binary runs. PGO=off times the code without it.
PGO ?= $(CURDIR)/cmd/tickd/default.pgo

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@# Colour only on a terminal: piped or logged, the escape codes are noise.
	@if [ -t 1 ]; then c='\033[36m'; r='\033[0m'; else c=; r=; fi; \
	grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -v c="$$c" -v r="$$r" 'BEGIN {FS = ":.*?## "}; {printf "  %s%-11s%s %s\n", c, $$1, r, $$2}'

.PHONY: deps
deps: ## Download Go modules
	$(GO) mod download

.PHONY: build
build: deps ## Build bin/tickd
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/tickd

.PHONY: run
run: build ## Run the demo: embedded NATS, simulated exchange, live signals on screen
	$(BIN) demo $(ARGS)

.PHONY: lint
lint: deps ## gofmt, go vet and staticcheck
	@scripts/gofmt-check.sh
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

.PHONY: deps-system
deps-system: ## Install what the tests need from Debian when missing (PostgreSQL, Chromium, Node.js): scripts/deps/*.sh
	@set -e; for f in scripts/deps/*.sh; do [ -e "$$f" ] || continue; bash "$$f"; done

.PHONY: test
test: deps-system lint ## Install missing test packages (scripts/deps), lint, then every test under the race detector (fuzz seeds included), then the full-length stress tests and the book under its invariant checks
	@# -pgo=off: with the profile, cmd/tickd's test would build every package
	@# it imports a second time (PGO changes speed, not behaviour).
	$(GO) test -pgo=off -race -count=1 -timeout 8m $(PKGS)
	$(GO) test -pgo=off -count=1 -timeout 5m -run 'Stress' ./ringbuf/
	$(GO) test -pgo=off -count=1 -timeout 5m -tags invariants ./book/

.PHONY: bench
bench: deps ## Run every benchmark BENCH_COUNT (6) times into bench/results/latest.txt (BENCH_OUT) for benchstat
	@mkdir -p $(dir $(BENCH_OUT))
	@# The shared cache's speed before and after, beside the results (not in them: benchstat
	@# would read its lines as labels). Compare runs made in like phases: see BENCHMARKS.md.
	$(GO) run ./scripts/cacheprobe -rounds 1 | tee $(BENCH_OUT).cache
	@# Every benchmark but the whole-path ITCH one, which warms a 1M-order book first: it runs
	@# next, over a fixed message count, fewer times.
	$(GO) test -pgo=$(PGO) -run '^$$' -bench . -skip '^BenchmarkITCH$$' -benchmem -count $(BENCH_COUNT) $(PKGS) | tee $(BENCH_OUT)
	$(GO) test -pgo=$(PGO) -run '^$$' -bench ITCH -benchmem -benchtime $(ITCH_MSGS)x -count 3 ./bench/ | tee -a $(BENCH_OUT)
	$(GO) run ./scripts/cacheprobe -rounds 1 | tail -n 1 | tee -a $(BENCH_OUT).cache
	$(BENCHSTAT) $(BENCH_OUT)

.PHONY: pgo
pgo: deps ## Rebuild cmd/tickd/default.pgo (the build's profile-guided optimisation) from the hot-path benchmarks
	scripts/pgo.sh

.PHONY: fuzz
fuzz: deps ## Run every fuzz target for FUZZ_TIME each
	@# The lists are taken apart from the loops, so that a package that does not build
	@# fails the target instead of silently contributing no fuzz target.
	@set -e; pkgs=$$($(GO) list $(PKGS)); for pkg in $$pkgs; do \
	  tests=$$($(GO) test -list '^Fuzz' $$pkg); \
	  for f in $$(grep '^Fuzz' <<< "$$tests" || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZ_TIME) $$pkg; \
	  done; done

.PHONY: clean
clean: ## Remove build output
	rm -rf bin
