#!/bin/bash
# Run every libFuzzer target of tests/fuzz for FUZZ_SECONDS each, starting
# from its seed corpus (tests/fuzz/corpus/<target>/), and fail on the first
# crash, leak, timeout or out-of-memory. New inputs go to
# <build>/fuzz-work/<target>/ and crash reproducers to <build>/fuzz-artifacts/;
# the committed corpus is never written.
# Usage: run-fuzz.sh <build-fuzz dir> [target ...]   (env: FUZZ_SECONDS, default 20)
set -u
build=${1:?usage: run-fuzz.sh <build-fuzz dir> [target ...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-20}

# Largest input each target is given: enough for the documents it parses
# (tar streams and archives need room for a few entries).
declare -A max_len=(
  [fuzz-image-tar]=65536 [fuzz-image-load]=131072 [fuzz-image-manifest]=16384
  [fuzz-image-config]=16384
  [fuzz-runtime-spec]=16384 [fuzz-runtime-seccomp]=16384 [fuzz-cgroup-resources]=4096
  [fuzz-daemon-create]=16384 [fuzz-build-dockerfile]=8192 [fuzz-build-ignore]=4096
  [fuzz-registry-credentials]=4096 [fuzz-network-dns]=1024 [fuzz-cli-template]=4096
)

# Targets left out of the smoke run (`make test`), each with the bug that
# keeps it out; `make fuzz` still runs them when named explicitly.
declare -A smoke_excluded=(
)

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in "$here"/fuzz-*.c; do
    t=$(basename "$src" .c)
    if [ -n "${FUZZ_SMOKE:-}" ] && [ -n "${smoke_excluded[$t]:-}" ]; then
      echo "== $t: skipped in the smoke run: ${smoke_excluded[$t]}"
      continue
    fi
    targets+=("$t")
  done
fi

mkdir -p "$build/fuzz-artifacts"
failed=()
for t in "${targets[@]}"; do
  exe="$build/tests/fuzz/$t"
  if [ ! -x "$exe" ]; then
    echo "== $t: not built ($exe)" >&2
    failed+=("$t")
    continue
  fi
  work="$build/fuzz-work/$t"
  mkdir -p "$work"
  log="$build/fuzz-artifacts/$t.log"
  echo "== $t: ${seconds}s, max_len ${max_len[$t]:-4096}"
  LSAN_OPTIONS=suppressions="$here/lsan.supp":print_suppressions=0 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$exe" -max_total_time="$seconds" -max_len="${max_len[$t]:-4096}" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$t-" \
      "$work" "$here/corpus/$t" >"$log" 2>&1 &
  pid=$!
  wait $pid
  rc=$?
  # The target's temp dir is removed at a clean exit; not after a crash.
  rm -rf /tmp/berth-fuzz-"$pid"-*
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | tr '\n' ' '
  echo
  if [ $rc -ne 0 ]; then
    echo "!! $t failed (exit $rc); log: $log" >&2
    grep -E -A30 '^==[0-9]+==ERROR|fuzz invariant|escaped|SUMMARY' "$log" | head -60 >&2
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (reproduce: <target> <artifact>, see $build/fuzz-artifacts)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets passed, ${seconds}s each"
