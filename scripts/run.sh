#!/usr/bin/env bash
# The one command that installs, builds and runs atrest on its embedded
# defaults: SQLite and local files in ./atrest-data, the built-in identity
# provider, HTTPS on 127.0.0.1:8443 for *.localhost. Extra arguments go to
# `atrest serve` (see `atrest serve --help`). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# Only what serving needs: the tests and benchmarks are ./scripts/test.sh's.
./scripts/build.sh release atrest
exec build/release/src/app/atrest serve "$@"
