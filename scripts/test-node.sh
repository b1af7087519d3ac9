#!/usr/bin/env bash
# Runs the client tests (tests/node, `node --test`) against real atrest
# servers over HTTPS, through the unmodified Azure SDKs. Expects the release
# build (scripts/build.sh release); installs the npm packages from the lock
# file. Every server the tests start shares one CA, made here.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/build/release/src/app/atrest"
[[ -x "$bin" ]] || { echo "test-node.sh: build first (scripts/build.sh release)" >&2; exit 1; }

(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ca=$("$bin" tls-init --data-dir "$work/shared" --domain localhost)

export ATREST_BIN="$bin"
export ATREST_TEST_ROOT="$work"
export ATREST_TEST_TLS_DIR="$work/shared/tls"
export NODE_EXTRA_CA_CERTS="$ca"
cd tests/node
node --require ./support/resolve-localhost.cjs --test --test-concurrency=1 \
  ${NODE_TEST_FILES:-*.test.js}
