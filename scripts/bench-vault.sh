#!/usr/bin/env bash
# Key Vault unwrapKey throughput: POST /keys/<k>/<v>/unwrapkey (RSA-OAEP-256)
# over HTTPS keep-alive with wrk (2 threads), for an RSA-2048 software key
# and an RSA-HSM key in SoftHSM2, beside `openssl speed -multi 2 rsa2048`
# private-key operations measured in the same run. Prints a Markdown table
# that docs/benchmarks.md is written from.
#
#   scripts/bench-vault.sh                        # 10 s per measurement
#   BENCH_SECONDS=5 ATREST_BIN=/path/atrest scripts/bench-vault.sh
#
# Knobs: BENCH_SECONDS (10), BENCH_CONNS (16), BENCH_THREADS (2),
# BENCH_PORT (18453), BENCH_KEEP_DIR=1 keeps the temp dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECS="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNS:-16}"
THREADS="${BENCH_THREADS:-2}"
PORT="${BENCH_PORT:-18453}"
ATREST_BIN="${ATREST_BIN:-build/release/src/app/atrest}"

for tool in wrk curl jq openssl; do
  command -v "$tool" >/dev/null || {
    echo "bench-vault: installing $tool..." >&2
    apt-get install -y -q --no-install-recommends "$tool" >/dev/null
  }
done
[[ -x "$ATREST_BIN" ]] || scripts/build.sh release >&2

work="$(mktemp -d)"
cleanup() {
  [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [[ "${BENCH_KEEP_DIR:-}" == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

"$ATREST_BIN" serve --server-data-dir "$work/data" --server-port "$PORT" \
  --server-access-log "" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [[ -f "$work/data/admin-credentials.json" ]] && \
    curl -skf "https://localhost:$PORT/healthz" >/dev/null && break
  sleep 0.1
done
creds="$work/data/admin-credentials.json"
tenant=$(jq -r .tenantId "$creds"); client=$(jq -r .clientId "$creds")
secret=$(jq -r .clientSecret "$creds"); sub=$(jq -r .subscriptionId "$creds")
oid=$(jq -r .objectId "$creds")
ca="$work/data/tls/ca.crt"
token() {
  curl -sf --cacert "$ca" "https://login.localhost:$PORT/$tenant/oauth2/v2.0/token" \
    -d grant_type=client_credentials -d client_id="$client" \
    --data-urlencode client_secret="$secret" --data-urlencode scope="$1/.default" |
    jq -r .access_token
}
mgmt=$(token "https://management.localhost:$PORT")
vaulttok=$(token "https://vault.localhost:$PORT")
arm="https://management.localhost:$PORT/subscriptions/$sub/resourceGroups/bench"
curl -sf --cacert "$ca" -X PUT "$arm?api-version=2022-09-01" -H "authorization: Bearer $mgmt" \
  -H 'content-type: application/json' -d '{"location":"westus"}' >/dev/null
curl -sf --cacert "$ca" -X PUT \
  "$arm/providers/Microsoft.KeyVault/vaults/kvbench?api-version=2023-07-01" \
  -H "authorization: Bearer $mgmt" -H 'content-type: application/json' \
  -d "{\"location\":\"westus\",\"properties\":{\"tenantId\":\"$tenant\",
       \"sku\":{\"family\":\"A\",\"name\":\"premium\"},
       \"accessPolicies\":[{\"tenantId\":\"$tenant\",\"objectId\":\"$oid\",
                            \"permissions\":{\"keys\":[\"all\"]}}]}}" >/dev/null
vault="https://kvbench.vault.localhost:$PORT"

# One key of each kind; a wrapped 32-byte key to unwrap over and over.
prepare() {  # kty -> writes $work/<kty>.lua
  local kty=$1 kid value
  kid=$(curl -sf --cacert "$ca" -X POST "$vault/keys/k-$kty/create?api-version=7.5" \
    -H "authorization: Bearer $vaulttok" -H 'content-type: application/json' \
    -d "{\"kty\":\"$kty\",\"key_size\":2048}" | jq -r .key.kid)
  value=$(curl -sf --cacert "$ca" -X POST "$kid/wrapkey?api-version=7.5" \
    -H "authorization: Bearer $vaulttok" -H 'content-type: application/json' \
    -d '{"alg":"RSA-OAEP-256","value":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}' |
    jq -r .value)
  path="${kid#https://*/}"
  cat >"$work/$kty.lua" <<LUA
wrk.method = "POST"
wrk.path = "/$path/unwrapkey?api-version=7.5"
wrk.body = '{"alg":"RSA-OAEP-256","value":"$value"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Host"] = "kvbench.vault.localhost:$PORT"
wrk.headers["Authorization"] = "Bearer $vaulttok"
LUA
  # Proves the request works before it is timed.
  curl -sf --cacert "$ca" -X POST "$kid/unwrapkey?api-version=7.5" \
    -H "authorization: Bearer $vaulttok" -H 'content-type: application/json' \
    -d "{\"alg\":\"RSA-OAEP-256\",\"value\":\"$value\"}" | jq -e '.value' >/dev/null
}
prepare RSA
prepare RSA-HSM

run_wrk() {  # kty -> "rps p50 p99"
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$work/$1.lua" \
    "https://127.0.0.1:$PORT" >"$work/wrk-$1.txt"
  local rps p50 p99 non2xx
  non2xx=$(grep -c "Non-2xx" "$work/wrk-$1.txt" || true)
  [[ "$non2xx" == 0 ]] || { cat "$work/wrk-$1.txt" >&2; echo "bench-vault: errors" >&2; exit 1; }
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$1.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk-$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk-$1.txt")
  echo "$rps $p50 $p99"
}
openssl_speed() {
  openssl speed -multi 2 -seconds "$SECS" rsa2048 2>/dev/null |
    awk '/^rsa 2048 bits/ {print $(NF-1)}' | tail -1
}
# openssl runs before and after atrest; the ratio is taken against the
# faster of the two, so a machine that slows down mid-run cannot flatter it.
openssl_before=$(openssl_speed)
wrk -t"$THREADS" -c"$CONNS" -d2s -s "$work/RSA.lua" "https://127.0.0.1:$PORT" >/dev/null
read -r soft_rps soft_p50 soft_p99 < <(run_wrk RSA)
read -r hsm_rps hsm_p50 hsm_p99 < <(run_wrk RSA-HSM)
openssl_after=$(openssl_speed)
openssl_sign=$(awk -v a="$openssl_before" -v b="$openssl_after" \
  'BEGIN {print (a > b ? a : b)}')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f%%", 100 * a / b}'; }
echo "| measurement | ops/s | p50 | p99 | vs openssl -multi 2 |"
echo "| --- | ---: | ---: | ---: | ---: |"
echo "| openssl speed -multi 2 rsa2048 (sign = private op), before / after | $openssl_before / $openssl_after | | | 100% of $openssl_sign |"
echo "| unwrapKey RSA-OAEP-256, RSA-2048 software key | $soft_rps | $soft_p50 | $soft_p99 | $(ratio "$soft_rps" "$openssl_sign") |"
echo "| unwrapKey RSA-OAEP-256, RSA-HSM 2048 (SoftHSM2) | $hsm_rps | $hsm_p50 | $hsm_p99 | $(ratio "$hsm_rps" "$openssl_sign") |"
echo "| Azure Key Vault published limit, RSA-2048 software, per vault | 400 (4,000 / 10 s) | | | |"
