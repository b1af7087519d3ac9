#!/usr/bin/env bash
# The one command that installs, builds and runs atrest on its embedded
# defaults. Until the server exists it shows the commands and runs the
# self-test of the cryptography in use.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh release
build/release/src/app/atrest --help
build/release/src/app/atrest selftest
