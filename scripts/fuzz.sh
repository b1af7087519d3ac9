#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, in build-fuzz/) and runs
# each for a bounded time over a copy of its seed corpus in fuzz/corpus/, so
# that runs never grow the corpus in the repository.
#
#   scripts/fuzz.sh                         # 30 s per target
#   FUZZ_SECONDS=300 scripts/fuzz.sh        # longer
#   FUZZ_SECONDS=60 scripts/fuzz.sh jwk_fuzzer   # some targets only
#
# Exits non-zero if any fuzzer crashes, leaks, times out or fails to build;
# the reproducer is left in build-fuzz/findings/<target>/. Prints one summary
# line per target.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
JOBS="$(nproc)"

# target:corpus dir:max_len (fuzz/stream_fuzz_input.h has kMaxInputSize).
ALL_TARGETS=(
  "stream_decrypt_fuzzer:stream_decrypt:8192"
  "jwk_fuzzer:jwk:8192"
  "base64_fuzzer:base64:4096"
  "vault_config_fuzzer:vault_config:8192"
  "jsonl_fuzzer:jsonl:16384"
  "multipart_fuzzer:multipart:16384"
  "request_head_fuzzer:request_head:4096"
  "kek_fuzzer:kek:8192"
  "trainer_message_fuzzer:trainer_message:8192"
  "model_fuzzer:model:16384"
  "json_fuzzer:json:16384"
  "names_fuzzer:names:1024"
)

selected=("$@")
targets=()
for t in "${ALL_TARGETS[@]}"; do
  name="${t%%:*}"
  if (( ${#selected[@]} == 0 )) || [[ " ${selected[*]} " == *" $name "* ]]; then
    targets+=("$t")
  fi
done
if (( ${#targets[@]} == 0 )); then
  echo "no such fuzz target: $*" >&2
  exit 2
fi

mkdir -p "$BUILD"
if ! cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++ -DATREST_FUZZ=ON -DATREST_SANITIZE=ON \
      -DATREST_TESTS=OFF -DATREST_BENCH=OFF >"$BUILD/configure.log" 2>&1; then
  cat "$BUILD/configure.log" >&2
  echo "fuzz: configure failed" >&2
  exit 1
fi
names=()
for t in "${targets[@]}"; do names+=("${t%%:*}"); done
if ! cmake --build "$BUILD" -j"$JOBS" --target "${names[@]}" >"$BUILD/build.log" 2>&1; then
  tail -40 "$BUILD/build.log" >&2
  echo "fuzz: build failed (log: $BUILD/build.log)" >&2
  exit 1
fi

# Leaks are bugs too; UBSan reports abort (ATREST_SANITIZE builds with
# -fno-sanitize-recover=all).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
summary=()
for t in "${targets[@]}"; do
  IFS=: read -r name corpus max_len <<<"$t"
  work="$BUILD/fuzz-run/$name"
  findings="$BUILD/findings/$name"
  rm -rf "$work" "$findings"
  mkdir -p "$work/corpus" "$findings"
  if [[ -d "$ROOT/fuzz/corpus/$corpus" ]]; then
    cp -r "$ROOT/fuzz/corpus/$corpus/." "$work/corpus/"
  fi
  seeds=$(find "$work/corpus" -type f | wc -l)
  echo "fuzz: $name for ${SECONDS_PER_TARGET}s over $seeds seeds" >&2
  "$BUILD/fuzz/$name" "$work/corpus" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$work/log.txt" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" |
         grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$work/log.txt" | tail -1 | grep -o '[0-9]*' || true)
  final=$(find "$work/corpus" -type f | wc -l)
  artifacts=$(find "$findings" -type f | wc -l)
  if (( rc == 0 && artifacts == 0 )); then
    verdict="ok"
  else
    verdict="FAILED (exit $rc; see $work/log.txt and $findings/)"
    status=1
  fi
  summary+=("$name: $verdict, ${runs:-?} runs in ${SECONDS_PER_TARGET}s, cov ${cov:-?}, corpus $seeds -> $final")
done

printf '%s\n' "${summary[@]}"
exit "$status"
