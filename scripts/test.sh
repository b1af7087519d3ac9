#!/usr/bin/env bash
# The one command that installs, builds and runs every test (CI runs this).
#   1. dependencies        scripts/install-deps.sh
#   2. formatting          clang-format (Google style) must change nothing
#   3. g++ build + tests   ctest on build/release
#   4. clang ASan+UBSan    ctest on build/asan
#   5. client tests        tests/node through the Azure SDKs (node --test)
#   6. fuzzing             each libFuzzer target for FUZZ_SECONDS (default 20)
#   7. self-test           atrest selftest on the release binary
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
passed=0
failed=0
skipped=0

# run_ctest DIR: runs ctest on DIR, adds its counts to the totals.
run_ctest() {
  local log="$1/ctest.log" rc=0
  ctest --test-dir "$1" --output-on-failure -j "$(nproc)" 2>&1 | tee "$log" || rc=$?
  local total bad skip
  skip=$(grep -c '(Skipped)$' "$log" || true)
  total=$(sed -nE 's/.* tests failed out of ([0-9]+)$/\1/p' "$log" | tail -n1)
  bad=$(sed -nE 's/.*, ([0-9]+) tests failed out of [0-9]+$/\1/p' "$log" | tail -n1)
  if [[ -z "$total" ]]; then
    echo "test.sh: ctest in $1 printed no summary" >&2
    exit 1
  fi
  passed=$((passed + total - bad - skip))
  failed=$((failed + bad))
  skipped=$((skipped + skip))
  return "$rc"
}

./scripts/install-deps.sh

echo "== clang-format"
mapfile -t sources < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h' 2>/dev/null || find src bench fuzz -name '*.cc' -o -name '*.h')
clang-format --dry-run -Werror "${sources[@]}"

echo "== g++ build and unit tests"
./scripts/build.sh release
run_ctest build/release

echo "== clang ASan+UBSan build and unit tests"
./scripts/build.sh asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_ctest build/asan

echo "== client tests: Azure SDKs against real servers (node --test)"
node_log=build/node-test.log
rc=0
./scripts/test-node.sh 2>&1 | tee "$node_log" || rc=$?
node_pass=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$node_log" | tail -n1)
node_fail=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$node_log" | tail -n1)
node_skip=$(sed -nE 's/^# skipped ([0-9]+)$/\1/p' "$node_log" | tail -n1)
if [[ -z "$node_pass" ]]; then
  echo "test.sh: the node test runner printed no summary" >&2
  exit 1
fi
passed=$((passed + node_pass))
failed=$((failed + node_fail))
skipped=$((skipped + ${node_skip:-0}))
((rc == 0)) || exit "$rc"

echo "== fuzzing"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} ./scripts/fuzz.sh

echo "== self-test"
build/release/src/app/atrest selftest

echo "== summary (unit tests in the release and sanitizer builds, client tests)"
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
