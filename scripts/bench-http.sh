#!/usr/bin/env bash
# HTTPS small-request rate: `GET /healthz` on atrest against nginx (Debian)
# serving a static file of the same size, both over TLS keep-alive with the
# same certificate and key, measured with wrk in the same run, alternating.
# Prints a Markdown table: requests/s per round and their medians, the ratio
# atrest/nginx, latency p50/p99 from wrk --latency, and each server's CPU
# time per request (from /proc, so less disturbed by a busy machine).
# docs/benchmarks.md is written from this output.
#
#   scripts/bench-http.sh                              # 3 rounds x 10 s at -c32, 1 round at -c256
#   BENCH_ROUNDS=1 BENCH_SECONDS=5 scripts/bench-http.sh   # quick look
#   ATREST_BIN=/path/to/atrest scripts/bench-http.sh   # another build
#
# Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_THREADS (wrk -t, 2),
# BENCH_CONNS (32), BENCH_CONNS_HIGH (256; 0 skips that round),
# BENCH_WARMUP_SECONDS (2), BENCH_PORT_ATREST (18443), BENCH_PORT_NGINX
# (18444), BENCH_KEEP_DIR=1 keeps the temp dir (configs, wrk outputs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ROUNDS="${BENCH_ROUNDS:-3}"
SECS="${BENCH_SECONDS:-10}"
WRK_THREADS="${BENCH_THREADS:-2}"
CONNS="${BENCH_CONNS:-32}"
CONNS_HIGH="${BENCH_CONNS_HIGH:-256}"
WARMUP="${BENCH_WARMUP_SECONDS:-2}"
P1="${BENCH_PORT_ATREST:-18443}"
P2="${BENCH_PORT_NGINX:-18444}"
ATREST_BIN="${ATREST_BIN:-build/release/src/app/atrest}"

# --- Dependencies ---------------------------------------------------------
SUDO=()
if [[ "$(id -u)" != 0 ]]; then SUDO=(sudo); fi

NGINX="$(command -v nginx || true)"
[[ -z "$NGINX" && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
missing=()
[[ -z "$NGINX" ]] && missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  echo "bench-http: installing ${missing[*]}..." >&2
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q >/dev/null
  if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >/dev/null; then
    # nginx-light is gone from newer Debian releases; nginx is the same build.
    missing=("${missing[@]/nginx-light/nginx}")
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
fi
# Debian starts the packaged nginx on port 80; that instance is left alone,
# this script runs its own from a private configuration.

if [[ ! -x "$ATREST_BIN" ]]; then
  echo "bench-http: $ATREST_BIN missing, building..." >&2
  ./scripts/build.sh release >&2
  if [[ ! -x "$ATREST_BIN" ]]; then
    echo "bench-http: $ATREST_BIN still missing after the build" >&2
    exit 1
  fi
fi
ATREST_BIN="$(cd "$(dirname "$ATREST_BIN")" && pwd)/$(basename "$ATREST_BIN")"

# --- Temp dir and cleanup -------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/atrest-bench-http.XXXXXX")"
ATREST_PID=""
NGINX_PID=""
cleanup() {
  local pid
  for pid in "$ATREST_PID" "$NGINX_PID"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  done
  for pid in "$ATREST_PID" "$NGINX_PID"; do
    [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
  done
  if [[ "${BENCH_KEEP_DIR:-0}" == 1 ]]; then
    echo "bench-http: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in "$P1" "$P2"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "bench-http: port $p is in use (set BENCH_PORT_ATREST/BENCH_PORT_NGINX)" >&2
    exit 1
  fi
done

wait_ready() {  # url name pid
  local i
  for ((i = 0; i < 200; i++)); do
    if curl -sf --cacert "$TMP/atrest/tls/ca.crt" -o /dev/null "$1"; then
      return 0
    fi
    if ! kill -0 "$3" 2>/dev/null; then
      echo "bench-http: $2 exited; its log:" >&2
      tail -20 "$TMP/$2.log" >&2
      exit 1
    fi
    sleep 0.05
  done
  echo "bench-http: $2 did not answer $1 within 10 s; its log:" >&2
  tail -20 "$TMP/$2.log" >&2
  [[ -f "$TMP/$2/error.log" ]] && tail -5 "$TMP/$2/error.log" >&2
  exit 1
}

# --- atrest ---------------------------------------------------------------
"$ATREST_BIN" tls-init --data-dir "$TMP/atrest" --domain localhost \
  >"$TMP/tls-init.log" 2>&1
CRT="$TMP/atrest/tls/server.crt"
KEY="$TMP/atrest/tls/server.key"
"$ATREST_BIN" serve --server-port "$P1" --server-data-dir "$TMP/atrest" \
  --server-domain localhost --server-access-log '' \
  >"$TMP/atrest.log" 2>&1 &
ATREST_PID=$!
URL1="https://localhost:$P1/healthz"
wait_ready "$URL1" atrest "$ATREST_PID"
BODY="$(curl -s --cacert "$TMP/atrest/tls/ca.crt" "$URL1")"

# --- nginx ----------------------------------------------------------------
mkdir -p "$TMP/nginx/www" "$TMP/nginx/tmp"
printf '%s' "$BODY" >"$TMP/nginx/www/healthz"
# Started as root, nginx's workers run as nobody: let them reach the file.
chmod 711 "$TMP" "$TMP/nginx"
chmod 755 "$TMP/nginx/www"
chmod 644 "$TMP/nginx/www/healthz"
CORES="$(nproc)"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $CORES;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/tmp/body;
  proxy_temp_path $TMP/nginx/tmp/proxy;
  fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
  uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
  scgi_temp_path $TMP/nginx/tmp/scgi;
  sendfile on;
  keepalive_requests 100000;
  keepalive_timeout 65;
  server {
    listen 127.0.0.1:$P2 ssl;
    server_name localhost;
    ssl_certificate $CRT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /healthz {
      root $TMP/nginx/www;
      default_type application/json;
    }
  }
}
EOF
"$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -g 'daemon off;' \
  >"$TMP/nginx.log" 2>&1 &
NGINX_PID=$!
URL2="https://localhost:$P2/healthz"
wait_ready "$URL2" nginx "$NGINX_PID"
BODY2="$(curl -s --cacert "$TMP/atrest/tls/ca.crt" "$URL2")"
if [[ "${#BODY}" != "${#BODY2}" ]]; then
  echo "bench-http: body sizes differ (atrest ${#BODY}, nginx ${#BODY2})" >&2
  exit 1
fi

# TLS as negotiated by curl (wrk's OpenSSL negotiates the same by default).
tls_of() {
  curl -sv --cacert "$TMP/atrest/tls/ca.crt" -o /dev/null "$1" 2>&1 |
    sed -n 's/^\* SSL connection using \(.*\)$/\1/p' | head -1
}
TLS1="$(tls_of "$URL1")"
TLS2="$(tls_of "$URL2")"

# --- wrk ------------------------------------------------------------------
RESULTS="$TMP/results.tsv"  # name conns round rps p50 p99 errors cpu_us/req
: >"$RESULTS"
# CPU time (user + system, clock ticks) of a server: atrest's process (all
# its threads), nginx's master and workers. Divided by the requests wrk
# completed, it gives CPU per request, which a busy neighbour on the machine
# disturbs much less than requests/s.
cpu_ticks() {  # pid...
  local pid total=0 t
  for pid in "$@"; do
    t="$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)"
    total=$((total + t))
  done
  echo "$total"
}
server_pids() {  # name
  if [[ "$1" == atrest ]]; then
    echo "$ATREST_PID"
  else
    echo "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true)
  fi
}
TICKS="$(getconf CLK_TCK)"
run_wrk() {  # name url conns round
  local out="$TMP/wrk-$1-c$3-r$4.txt"
  local pids c0 c1
  pids="$(server_pids "$1")"
  c0="$(cpu_ticks $pids)"
  wrk -t"$WRK_THREADS" -c"$3" -d"${SECS}s" --latency "$2" >"$out" 2>&1
  c1="$(cpu_ticks $pids)"
  local rps p50 p99 errs n cpu
  n="$(awk '/requests in/ {print $1}' "$out")"
  cpu="$(awk -v d=$((c1 - c0)) -v hz="$TICKS" -v n="${n:-0}" \
    'BEGIN {if (n > 0) printf "%.1f", d / hz * 1e6 / n; else print ""}')"
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  p50="$(awk '$1 == "50%" {print $2}' "$out")"
  p99="$(awk '$1 == "99%" {print $2}' "$out")"
  errs="$(grep -E 'Socket errors|Non-2xx' "$out" | tr -s ' ' | paste -sd';' || true)"
  if [[ -z "$rps" ]]; then
    echo "bench-http: wrk failed against $1:" >&2
    cat "$out" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$3" "$4" "$rps" "$p50" \
    "$p99" "$errs" "$cpu" >>"$RESULTS"
  echo "bench-http: $1 -c$3 round $4: $rps req/s, $cpu us CPU/req${errs:+ ($errs)}" >&2
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench-http: warm-up ${WARMUP}s each..." >&2
wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" "$URL1" >/dev/null 2>&1
wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" "$URL2" >/dev/null 2>&1
# Alternate which server goes first so a drift in background load hits both.
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then
    run_wrk atrest "$URL1" "$CONNS" "$r"; run_wrk nginx "$URL2" "$CONNS" "$r"
  else
    run_wrk nginx "$URL2" "$CONNS" "$r"; run_wrk atrest "$URL1" "$CONNS" "$r"
  fi
done
if [[ "$CONNS_HIGH" != 0 ]]; then
  run_wrk atrest "$URL1" "$CONNS_HIGH" 1
  run_wrk nginx "$URL2" "$CONNS_HIGH" 1
fi
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
# atrest's own count of TLS handshakes: wrk's "connect" errors are failed
# connects or handshakes, after which wrk reconnects at once.
HANDSHAKES="$(curl -s --cacert "$TMP/atrest/tls/ca.crt" \
  -H "Authorization: Bearer $(cat "$TMP/atrest/metrics-token")" \
  "https://localhost:$P1/metrics" |
  awk '/^atrest_tls_handshakes_total/ {h=$2} /^atrest_tls_handshake_failures_total/ {f=$2}
       END {printf "%s handshakes, %s failed", h, f}')"

# --- Summary --------------------------------------------------------------
export RESULTS LOAD_BEFORE LOAD_AFTER CORES TLS1 TLS2 SECS WRK_THREADS
export BODY_LEN="${#BODY}" ATREST_BIN HANDSHAKES
NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
WRK_VERSION="$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')"
export NGINX_VERSION WRK_VERSION
python3 - <<'PY'
import os, statistics
from collections import defaultdict

env = os.environ
# conns -> {(name, round): (rps, p50, p99, errors, cpu_us_per_request)}
rows = defaultdict(dict)
for line in open(env["RESULTS"]):
    name, conns, rnd, rps, p50, p99, errs, cpu = line.rstrip("\n").split("\t")
    rows[int(conns)][(name, int(rnd))] = (float(rps), p50, p99, errs,
                                          float(cpu) if cpu else None)

def fmt(x):
    return f"{x:,.0f}"

def us(x):
    return "–" if x is None else f"{x:.0f} µs"

def cpu_ratio(a, n):
    return "–" if not a or not n else f"{100 * n / a:.0f}%"

print(f"wrk {env['WRK_VERSION']}, -t{env['WRK_THREADS']}, {env['SECS']} s per "
      f"round, keep-alive; {env['CORES']} cores; load average "
      f"{env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after")
print(f"atrest: {env['ATREST_BIN']} ({env['TLS1']}; {env['HANDSHAKES']} "
      f"over the run); "
      f"nginx: {env['NGINX_VERSION']} ({env['TLS2']}); body {env['BODY_LEN']} bytes")
print()
print("| connections | round | atrest req/s | nginx req/s | atrest / nginx "
      "| atrest p50 | atrest p99 | nginx p50 | nginx p99 "
      "| atrest CPU/req | nginx CPU/req | nginx CPU / atrest CPU |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
summary = []
for conns in sorted(rows):
    r = rows[conns]
    rounds = sorted({k[1] for k in r})
    a_all, n_all, ac_all, nc_all = [], [], [], []
    for rnd in rounds:
        a = r.get(("atrest", rnd)); n = r.get(("nginx", rnd))
        a_all.append(a[0]); n_all.append(n[0])
        if a[4] and n[4]:
            ac_all.append(a[4]); nc_all.append(n[4])
        print(f"| {conns} | {rnd} | {fmt(a[0])} | {fmt(n[0])} | "
              f"{100 * a[0] / n[0]:.0f}% | {a[1]} | {a[2]} | {n[1]} | {n[2]} "
              f"| {us(a[4])} | {us(n[4])} | {cpu_ratio(a[4], n[4])} |")
        for who, x in (("atrest", a), ("nginx", n)):
            if x[3]:
                print(f"|  |  | {who}: {x[3]} |  |  |  |  |  |  |  |  |  |")
    am, nm = statistics.median(a_all), statistics.median(n_all)
    acm = statistics.median(ac_all) if ac_all else None
    ncm = statistics.median(nc_all) if nc_all else None
    if len(rounds) > 1:
        print(f"| {conns} | **median** | **{fmt(am)}** | **{fmt(nm)}** | "
              f"**{100 * am / nm:.0f}%** |  |  |  |  | {us(acm)} | {us(ncm)} "
              f"| {cpu_ratio(acm, ncm)} |")
    summary.append((conns, am, nm))
print()
for conns, am, nm in summary:
    ratio = am / nm
    verdict = "meets" if ratio >= 0.70 else "misses"
    print(f"-c{conns}: atrest {fmt(am)} req/s, nginx {fmt(nm)} req/s, "
          f"ratio {100 * ratio:.0f}% ({verdict} the >= 70% target)")
PY
