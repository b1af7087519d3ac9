#!/usr/bin/env bash
# Installs everything atrest needs to build and test, from Debian 12 packages.
# Idempotent and quick when everything is already there: apt runs only when
# a package is missing.
set -euo pipefail

packages=(
  # toolchains
  g++ clang clang-format cmake ninja-build pkg-config python3
  # sanitizer and fuzzer runtimes, symbolizer
  libclang-rt-14-dev llvm
  # libraries
  libssl-dev openssl nlohmann-json3-dev libcli11-dev libboost-dev
  libsqlite3-dev libtomlplusplus-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # client tests: a second server with a shifted clock (token nbf/exp)
  faketime
  # RSA-HSM keys: SoftHSM2 as the default PKCS#11 token, the PKCS#11 header
  # (p11-kit), and pkcs11-tool for looking inside a token
  softhsm2 libp11-kit-dev opensc
  # client tests through Debian's Python Azure SDK (run with /usr/bin/python3)
  python3-azure python3-msal
  # client tests that read the metadata database (wrapped keys, scopes)
  sqlite3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi

# The client tests run the Azure SDKs, which need Node.js 20 or newer.
node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)
if [[ -z "$node_major" ]]; then
  echo "install-deps: installing nodejs and npm"
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
  node_major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
fi
if ((node_major < 20)); then
  echo "install-deps: Node.js $(node --version) is too old for the Azure SDKs;" \
       "install Node.js 20 or newer (the client tests need it)" >&2
  exit 1
fi
if ! command -v npm >/dev/null; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends npm
fi
