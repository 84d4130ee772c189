# The few commands people type.
GO ?= go
BENCH_TIME ?= 1s
BENCH_COUNT ?= 3
# BENCH_SCALE scales the table and city sizes of `make bench` (1 = full
# size: tables of 1 M, 5 M and 22 M subjects; see bench/report).
BENCH_SCALE ?= 0.1

.PHONY: test race bench bench-raw fuzz lint oaslint cyclo demo build faults

test:
	$(GO) test ./...

# RACE_PKGS are the packages that start goroutines or share memory between
# them (locks, pools, channels, atomics): the decision table, the registry's
# tailer and sweepers, both stores' committers, the HTTP server's check-log
# batcher, the portal, the webhook worker, the simulation's workers, and the
# CLI that wires them together.
RACE_PKGS ?= ./engine ./registry ./sqlite ./postgres ./storetest ./http ./http/portal ./outbox ./simulate ./internal/canon ./internal/storecore ./cmd/credo

# faults runs the fault-injection suite at length: SIGKILL of `credo serve`
# at random points under concurrent filing and checking (FAULT_ROUNDS
# kills; zero acknowledged records and checks lost), SIGKILL during bulk
# ingest, SIGTERM/SIGINT under load, a check log that cannot be opened and
# recovers, injected ENOSPC, a real full disk (a small tmpfs, when run
# as root), and the PostgreSQL failover under pg_auto_failover (as root,
# with CREDO_TEST_PGAF=1; docs/ha.md). `make test` runs the same tests in
# a short form (3 kills).
FAULT_ROUNDS ?= 20
faults:
	CREDO_FAULT_ROUNDS=$(FAULT_ROUNDS) $(GO) test -count=1 -v -run 'TestR0[1-3]|TestR09Failover|TestR10|TestIngestCrash|TestServerCrash' ./cmd/credo ./http ./sqlite

race:
	$(GO) test -race $(RACE_PKGS)

# bench runs the benchmark suite and writes BENCHMARKS.md (raw output in bench.txt).
bench:
	BENCH_SCALE=$(BENCH_SCALE) BENCH_COUNT=$(BENCH_COUNT) $(GO) run ./bench/report

# bench-raw runs every benchmark of the listed packages, without a report.
bench-raw:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCH_TIME) -count=$(BENCH_COUNT) ./ident ./policy ./engine ./sqlite ./http ./synth | tee bench.txt

fuzz:
	$(GO) test ./ident -run='^$$' -fuzz=FuzzParse -fuzztime=30s
	$(GO) test ./policy -run='^$$' -fuzz=FuzzParse -fuzztime=30s
	$(GO) test ./policy -run='^$$' -fuzz=FuzzParseDuration -fuzztime=30s
	$(GO) test ./engine -run='^$$' -fuzz=FuzzEvaluate -fuzztime=30s
	$(GO) test ./ingest -run='^$$' -fuzz=FuzzReader -fuzztime=30s
	$(GO) test ./http -run='^$$' -fuzz=FuzzHandlers -fuzztime=30s
	$(GO) test ./http -run='^$$' -fuzz=FuzzParseCheckFast -fuzztime=30s

# STATICCHECK is run through `go run`, so nothing needs installing; the
# version is pinned (one that builds with this Go).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: cyclo
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt -w needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# oaslint lints the OpenAPI document with Redocly's recommended rules and
# fails on any error or warning (npm's registry must be reachable).
REDOCLY ?= @redocly/cli@2.77.0
oaslint:
	@out="$$(cd /tmp && npx -y $(REDOCLY) lint "$(CURDIR)/http/openapi.json" 2>&1)"; echo "$$out" | grep -E "valid|warning|error" | grep -v "Deprecation"; \
	if echo "$$out" | grep -qE "You have [0-9]+ (warning|error)|[0-9]+ errors? "; then echo "$$out"; exit 1; fi

# GOCYCLO, like STATICCHECK, runs through `go run` at a pinned version.
GOCYCLO ?= github.com/fzipp/gocyclo/cmd/gocyclo@v0.6.0

# cyclo fails when a production function's cyclomatic complexity is over
# 30 (issue 16, "the house": a function over 30 is split along its own
# sections). Only _test.go files are left out; the stores' conformance
# suite (storetest/), test code though it is, is held to the same bound.
CYCLO_IGNORE ?= _test\.go$$
cyclo:
	$(GO) run $(GOCYCLO) -over 30 -ignore '$(CYCLO_IGNORE)' .

build:
	$(GO) build -o credo ./cmd/credo

demo:
	$(GO) run ./cmd/credo demo
