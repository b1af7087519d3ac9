#!/usr/bin/env bash
# build.sh PRESET [TARGET...]: configures and builds one build tree, all of
# it or only the targets named (e.g. `build.sh release atrest`).
#   release  g++, optimised, with tests and benchmarks  -> build/release
#   asan     clang, AddressSanitizer + UBSan, tests      -> build/asan
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift $(($# > 0 ? 1 : 0))
jobs=${JOBS:-$(nproc)}
case "$preset" in
  release)
    dir=build/release
    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++)
    ;;
  asan)
    dir=build/asan
    args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++
          -DATREST_SANITIZE=ON -DATREST_BENCH=OFF)
    ;;
  *) echo "build.sh: unknown preset '$preset'" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$jobs" "${targets[@]}"
