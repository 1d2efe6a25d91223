# berth — the two commands a fresh Debian 12 machine needs: `make demo`, `make test`.
# Everything else here is a building block of those two.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# Seconds per fuzz target: `make fuzz`, and the smoke run inside `make test`
# (22 targets x 8 s keeps the smoke near 3 minutes on 2 cores).
FUZZ_SECONDS ?= 20
FUZZ_SMOKE_SECONDS ?= 8
# `make fuzz FUZZ="fuzz-image-tar fuzz-network-dns"` runs only those.
FUZZ ?=
FUZZ_TARGETS := $(patsubst %.c,%,$(wildcard tests/fuzz/fuzz-*.c))
PYTEST_ARGS ?=
TESTS ?= tests/integration
DEPS_FILES := $(filter-out deps/bench%,$(wildcard deps/*.txt))
BENCH_DEPS := $(wildcard deps/bench*.txt)

pkgs = $(shell sed -e 's/\#.*//' $(1) | tr -s ' \n' ' ')

.PHONY: all deps bench-deps build asan unit fuzz-build fuzz fuzz-smoke integration test demo bench clean

all: build

# Install only what is missing, so a warm machine does not wait on apt.
deps:
	@missing=$$(for p in $(call pkgs,$(DEPS_FILES)); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt-get install:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

bench-deps:
	@DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(call pkgs,$(BENCH_DEPS))

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Db_ndebug=false

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# Unit tests run twice: the release build, and under ASan+UBSan.
unit: build asan
	meson test -C $(BUILD) --print-errorlogs --suite unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs --suite unit

# libFuzzer targets (tests/fuzz): clang, the libraries instrumented for
# coverage and built with ASan+UBSan. -Werror stays the gcc builds' job:
# clang warns where gcc does not (cleanup-attribute variables it thinks
# unused), which must not stop the fuzzers.
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized -Dfuzz=true -Dwerror=false \
		-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) $(FUZZ_TARGETS)

# Every target for FUZZ_SECONDS from its seed corpus; fails on any crash,
# leak, timeout or OOM (reproducers in $(FUZZ_BUILD)/fuzz-artifacts).
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ)

# The short run `make test` includes.
fuzz-smoke: fuzz-build
	FUZZ_SMOKE=1 FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) bash tests/fuzz/run-fuzz.sh $(FUZZ_BUILD)

# Black-box tests: real binaries, real kernel, as root.
integration: build
	BERTH_BUILD_DIR=$(CURDIR)/$(BUILD) PYTEST_ARGS="$(PYTEST_ARGS)" /usr/bin/python3 scripts/run-integration.py $(TESTS)

test: unit fuzz-smoke integration

demo: build
	BERTH_BUILD_DIR=$(CURDIR)/$(BUILD) bash scripts/demo.sh

bench: build bench-deps
	@for b in bench/*/run; do echo "== $$b"; BERTH_BUILD_DIR=$(CURDIR)/$(BUILD) bash $$b || exit 1; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
