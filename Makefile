# wasmfaas — every target works on a fresh Debian machine with Go installed.
# `make run` serves on the embedded default; `make test` builds every guest
# from source and runs every test.

SHELL := /bin/bash
GO    ?= go
BUILD := build
GUESTS := $(BUILD)/guests
WASMFAAS := $(BUILD)/wasmfaas

# Examples, each written in every language of LANGS (examples/<name>/<lang>);
# each testdata/suite.json says what its function is granted.
EXAMPLES := hello counter temperature wasi-upper reminder
# Examples without testdata/, because their cases need a live server: make
# guests builds them, and Go tests run them (examples/fetch: TestFetchExample).
BUILD_ONLY_EXAMPLES := fetch
LANGS := go c rust assemblyscript
# SKIP_<lang> are the examples deliberately not written in <lang>
# (host/hosttest's TestConformance lists the same, with the reasons).
SKIP_assemblyscript := wasi-upper
SKIP_rust :=
# STORES are the store backends test-examples runs every example's cases on.
STORES := mem jetstream

# C guests: clang 14 for wasm32-wasi with Debian's wasi-libc (`make setup`).
# Reactors (sources that include wasmfaas.h) link guest-sdks/c and use
# -mexec-model=reactor (an _initialize export, no _start); the SDK marks its
# exports with export_name, so no --export flags are needed.
CC_WASM := clang-14
WASI_SYSROOT ?= /usr/share/wasi-sysroot
CFLAGS_WASM := --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) -O2 -Wall -Wextra -Werror

export GOFLAGS ?= -mod=mod

.PHONY: all setup run cluster test test-go test-examples guests bench fuzz lint fmt check clean

all: $(WASMFAAS) guests

$(WASMFAAS): FORCE
	$(GO) build -o $@ ./cmd/wasmfaas

FORCE:

## setup: install the guest and browser toolchains (C: clang 14, lld, wasi-libc; Rust: Debian rustc/cargo with wasm32-wasi; chromium; AssemblyScript through npm ci) when missing
setup:
	@bash scripts/setup.sh

## run: build and start `wasmfaas serve` on the embedded default
run: $(WASMFAAS)
	exec $(WASMFAAS) serve

# The local cluster of `make cluster`: node N (1 to 3) serves HTTP on
# 127.0.0.1:808N, NATS clients on 127.0.0.1:423N and routes on
# 127.0.0.1:623N, keeps its state in build/cluster/nodeN and logs to
# build/cluster/nodeN.log. Every node routes to all three.
CLUSTER := $(BUILD)/cluster
CLUSTER_NODES := 1 2 3
CLUSTER_ROUTES := nats://127.0.0.1:6231,nats://127.0.0.1:6232,nats://127.0.0.1:6233

## cluster: build and start three `wasmfaas serve` forming an embedded three-node NATS JetStream cluster on loopback (HTTP 8081-8083, NATS 4231-4233, routes 6231-6233; state and logs in build/cluster); Ctrl-C stops all three
cluster: $(WASMFAAS)
	@mkdir -p $(CLUSTER)
	@set -m; pids=""; \
	stop() { trap - INT TERM; echo; echo "stopping the cluster"; kill -TERM $$pids 2>/dev/null; wait $$pids 2>/dev/null; }; \
	trap 'stop; exit 0' INT TERM; \
	for n in $(CLUSTER_NODES); do \
		WASMFAAS_LOG_FORMAT=json $(WASMFAAS) serve --data-dir $(CLUSTER)/node$$n \
			--http-addr 127.0.0.1:808$$n --nats-listen 127.0.0.1:423$$n \
			--nats-cluster-name wasmfaas-local --nats-cluster-listen 127.0.0.1:623$$n \
			--nats-cluster-routes $(CLUSTER_ROUTES) >$(CLUSTER)/node$$n.log 2>&1 & \
		pids="$$pids $$!"; \
	done; \
	echo "starting three nodes (logs: $(CLUSTER)/node{1,2,3}.log)"; \
	for n in $(CLUSTER_NODES); do \
		until curl -sf -o /dev/null http://127.0.0.1:808$$n/readyz; do \
			if ! kill -0 $$(echo $$pids | cut -d' ' -f$$n) 2>/dev/null; then \
				echo "node $$n exited:"; tail -n 20 $(CLUSTER)/node$$n.log; stop; exit 1; \
			fi; \
			sleep 0.2; \
		done; \
		echo "node $$n ready: http://127.0.0.1:808$$n, nats://127.0.0.1:423$$n"; \
	done; \
	echo; \
	echo "The cluster is up; every stream and bucket has three replicas. From another terminal:"; \
	echo "  make guests"; \
	echo "  $(WASMFAAS) deploy temperature $(GUESTS)/temperature-go.wasm --grant props,emit --trigger type=com.example.reading --server http://127.0.0.1:8081"; \
	echo "  $(WASMFAAS) publish com.example.reading --subject 'device|1' --data '{\"tempc\": 31}' --nats-url nats://127.0.0.1:4232"; \
	echo "  curl -i http://127.0.0.1:8081/v1/events -H 'Content-Type: application/json' -H 'Ce-Specversion: 1.0' -H 'Ce-Id: r1' -H 'Ce-Source: /sensors' -H 'Ce-Type: com.example.reading' -H 'Ce-Subject: device|2' -d '{\"tempc\": 12}'"; \
	echo "  $(WASMFAAS) calls --function temperature --server http://127.0.0.1:8081"; \
	echo "  $(WASMFAAS) props 'device|1' --server http://127.0.0.1:8081"; \
	echo "Kill a node (kill PID, of:$$pids) and the other two keep serving. Ctrl-C stops all three."; \
	wait

## guests: build every example guest from source into build/guests
guests: setup $(foreach l,$(LANGS),$(foreach e,$(filter-out $(SKIP_$(l)),$(EXAMPLES) $(BUILD_ONLY_EXAMPLES)),$(GUESTS)/$(e)-$(l).wasm))

$(GUESTS)/%-go.wasm: FORCE
	@mkdir -p $(GUESTS)
	@if grep -q 'guest-sdks/go"' examples/$*/go/*.go; then \
		echo "build $* (Go reactor)"; \
		cd examples && GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -o ../$@ ./$*/go; \
	else \
		echo "build $* (Go WASI command)"; \
		cd examples && GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -o ../$@ ./$*/go; \
	fi

$(GUESTS)/%-c.wasm: FORCE | setup
	@mkdir -p $(GUESTS)
	@if grep -qE '^\s*#\s*include\s*["<]wasmfaas\.h[">]' examples/$*/c/*.[ch]; then \
		echo "build $* (C reactor)"; \
		$(CC_WASM) $(CFLAGS_WASM) -mexec-model=reactor -I guest-sdks/c -o $@ examples/$*/c/*.c guest-sdks/c/wasmfaas.c; \
	else \
		echo "build $* (C WASI command)"; \
		$(CC_WASM) $(CFLAGS_WASM) -o $@ examples/$*/c/*.c; \
	fi

# Rust guests: Debian's cargo and rustc 1.63 with wasm32-wasi (`make setup`),
# called by path with RUSTC set, because a rustup toolchain earlier on PATH
# usually has no wasm32-wasi standard library. Cargo runs offline (the SDK,
# guest-sdks/rust, is a path dependency) with its target directory under
# build/cargo; each package's Cargo.toml sets the release profile (panic =
# "abort", lto, strip). A cdylib is a reactor (the SDK's handler! exports
# wasmfaas_handle, wasmfaas_abi_v1 and _initialize), a bin a WASI command.
CARGO_WASM := /usr/bin/cargo
RUSTC_WASM := /usr/bin/rustc
CARGO_TARGET_DIR_WASM := $(abspath $(BUILD)/cargo)

$(GUESTS)/%-rust.wasm: FORCE | setup
	@mkdir -p $(GUESTS)
	@if grep -q 'cdylib' examples/$*/rust/Cargo.toml; then \
		echo "build $* (Rust reactor)"; out=$(subst -,_,$*).wasm; \
	else \
		echo "build $* (Rust WASI command)"; out=$*.wasm; \
	fi; \
	(cd examples/$*/rust && RUSTC=$(RUSTC_WASM) CARGO_TARGET_DIR=$(CARGO_TARGET_DIR_WASM) CARGO_NET_OFFLINE=true \
		$(CARGO_WASM) build --quiet --release --offline --target wasm32-wasi) && \
	cp $(CARGO_TARGET_DIR_WASM)/wasm32-wasi/release/$$out $@

# AssemblyScript guests: the asc pinned by guest-sdks/assemblyscript's
# package-lock.json (npm ci, `make setup`), run in the repository root so
# that --use abort=... names the SDK's abort; the flags are
# hosttest.ASFlags.
ASC := guest-sdks/assemblyscript/node_modules/.bin/asc
ASFLAGS := -O3 --runtime incremental --use abort=guest-sdks/assemblyscript/assembly/abort/abort

$(GUESTS)/%-assemblyscript.wasm: FORCE | setup
	@mkdir -p $(GUESTS)
	@echo "build $* (AssemblyScript reactor)"
	@$(ASC) examples/$*/assemblyscript/index.ts $(ASFLAGS) -o $@

## test: every Go test (race detector on the host and store), the SDK's tests, and every example's testdata through `wasmfaas test`
test: setup test-go test-examples

test-go: setup
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	cd guest-sdks/go && $(GO) vet ./... && GOOS=wasip1 GOARCH=wasm $(GO) vet ./... && $(GO) test -count=1 ./...
	cd examples && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...
	cd internal/benchcmp && $(GO) vet ./... && $(GO) test -count=1 ./cmd/...
	cd internal/interop && $(GO) vet ./... && $(GO) test -count=1 ./...

test-examples: $(WASMFAAS) guests
	@set -e; $(foreach l,$(LANGS),$(foreach e,$(filter-out $(SKIP_$(l)),$(EXAMPLES)),$(foreach s,$(STORES),echo "== examples/$(e) ($(l), $(s) store)"; $(WASMFAAS) test --store $(s) $(GUESTS)/$(e)-$(l).wasm examples/$(e)/testdata;)))

## bench: the Invoke benchmarks and the floor; then, in one run, the host against the floor and Extism (internal/benchcmp), as a table; then HTTP invoke against a native handler (TestHTTPLoad); then routing, NATS publish to ack, against a no-Wasm consumer (TestRouteLoad); then a restart with 10 Go functions (TestRestartLoad); then memory per warm instance (TestDensity); then 1, 2 and 3 hosts on a 3-node cluster (TestScaleLoad, in one process; TestScalePinned, serve processes pinned to cores)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./host/... ./store/...
	@mkdir -p $(BUILD)
	set -o pipefail; cd internal/benchcmp && $(GO) test -run '^$$' -bench . -benchmem -count 5 . | tee ../../$(BUILD)/bench.txt | $(GO) run ./cmd/benchtable
	set -o pipefail; cd internal/benchcmp && $(GO) test -run '^TestHTTPLoad$$' -count=1 -v -httpload.variants . | tee ../../$(BUILD)/http.txt
	set -o pipefail; cd internal/benchcmp && $(GO) test -run '^TestRouteLoad$$' -count=1 -v . | tee ../../$(BUILD)/route.txt
	set -o pipefail; cd internal/benchcmp && $(GO) test -run '^TestRestartLoad$$' -count=1 -v . | tee ../../$(BUILD)/restart.txt
	set -o pipefail; cd internal/benchcmp && $(GO) test -run '^TestDensity$$' -count=1 -v . | tee ../../$(BUILD)/density.txt
	set -o pipefail; cd internal/benchcmp && $(GO) test -run '^TestScaleLoad$$' -count=1 -v . | tee ../../$(BUILD)/scale.txt
	set -o pipefail; cd internal/benchcmp && $(GO) test -run '^TestScalePinned$$' -count=1 -v . | tee ../../$(BUILD)/scale-pinned.txt

# FUZZTIME is how long `make fuzz` runs each fuzz target.
FUZZTIME ?= 30s
# FUZZ_MODULES are the Go modules whose fuzz targets `make fuzz` runs.
FUZZ_MODULES := . guest-sdks/go examples internal/benchcmp

## fuzz: every fuzz target of every Go module, FUZZTIME each, one at a time (go test fuzzes one target per run); seeds in each package's testdata/fuzz
fuzz:
	@set -eo pipefail; n=0; \
	for mod in $(FUZZ_MODULES); do \
		targets=$$(cd $$mod && $(GO) test -list '^Fuzz' ./... | \
			awk '/^Fuzz/ { names = names " " $$1; next } /^ok/ { n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2 " " a[i] } { names = "" }'); \
		while read -r pkg name; do \
			[ -n "$$name" ] || continue; \
			echo "== $$name ($$pkg, $(FUZZTIME))"; \
			(cd $$mod && $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg); \
			n=$$((n + 1)); \
		done <<< "$$targets"; \
	done; \
	echo "fuzz: $$n targets, $(FUZZTIME) each"

lint: check

fmt:
	gofmt -w $$(git ls-files '*.go')

## check: formatting, vet, tidy modules, and no diff
check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy && cd guest-sdks/go && $(GO) mod tidy && cd ../../examples && $(GO) mod tidy
	git diff --exit-code -- go.mod go.sum guest-sdks/go/go.mod examples/go.mod

clean:
	rm -rf $(BUILD)
