# berth — the two commands a fresh Debian 12 machine needs: `make demo`, `make test`.
# Everything else here is a building block of those two.

BUILD      ?= build
ASAN_BUILD ?= build-asan
PYTEST_ARGS ?=
TESTS ?= tests/integration
DEPS_FILES := $(filter-out deps/bench%,$(wildcard deps/*.txt))
BENCH_DEPS := $(wildcard deps/bench*.txt)

pkgs = $(shell sed -e 's/\#.*//' $(1) | tr -s ' \n' ' ')

.PHONY: all deps bench-deps build asan unit integration test demo bench clean

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

# Black-box tests: real binaries, real kernel, as root.
integration: build
	BERTH_BUILD_DIR=$(CURDIR)/$(BUILD) PYTEST_ARGS="$(PYTEST_ARGS)" /usr/bin/python3 scripts/run-integration.py $(TESTS)

test: unit integration

demo: build
	BERTH_BUILD_DIR=$(CURDIR)/$(BUILD) bash scripts/demo.sh

bench: build bench-deps
	@for b in bench/*/run; do echo "== $$b"; BERTH_BUILD_DIR=$(CURDIR)/$(BUILD) bash $$b || exit 1; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
