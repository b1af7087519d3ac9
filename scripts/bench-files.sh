#!/usr/bin/env bash
# Files API benchmarks, each beside a baseline measured in the same run:
#
#  1. 1 GiB download and 1 GiB upload over HTTPS with curl (one transfer at a
#     time, BENCH_REPS repetitions, alternating which server goes first):
#     atrest (GET .../files/<id>/content; POST .../files as multipart, curl -F)
#     against nginx (Debian) serving the same file over TLS with the same
#     certificate, and receiving the same multipart upload into a file on disk
#     (client_body_in_file_only; the script checks that the file is written
#     and has every byte). MB/s = 10^6 bytes of the 1 GiB payload per second
#     of curl's total time. Also each server's CPU seconds per transfer.
#  2. atrest's RSS (VmRSS sampled every 100 ms, and VmHWM) during a 4 GiB
#     upload (a sparse file, so the client side costs nothing): idle, peak,
#     peak - idle.
#  3. Key rotation time (PATCH of the account's keyVersion to another version
#     of its customer-managed key; only the PATCH is timed, keep-alive) for an
#     account with 10 stored files (before the 10,000 are uploaded) and
#     one with 10,000 files, then the two interleaved; checks that no blob file
#     changed (path, inode, size, mtime) and that files still download; then
#     deletes the 10,000 and times the 10-file account again (A-B-A).
#  4. Revocation latency: grant the account's identity in the vault's access
#     policies, wait until a download works, remove the policy, and time from
#     the remove call's return to the first 403 download (polling every
#     10 ms), BENCH_REVOKE_TRIALS times; (4b) the same again after
#     BENCH_REVOKE_EXTRA_ACCOUNTS more accounts use the same vault key.
#
# Prints progress on stderr and a summary (Markdown) on stdout;
# docs/benchmarks.md is written from it.
#
#   scripts/bench-files.sh              # ~2.5 min on an idle machine, ~5 min busy
#   ATREST_BIN=/tmp/bench-build/src/app/atrest scripts/bench-files.sh
#
# Knobs: BENCH_REPS (3), BENCH_BIG_MIB (1024), BENCH_RSS_MIB (4096),
# BENCH_FEW_FILES (10), BENCH_MANY_FILES (10000), BENCH_ROTATIONS (20),
# BENCH_REVOKE_TRIALS (20), BENCH_REVOKE_EXTRA_ACCOUNTS (20; 0 skips 4b),
# BENCH_UPLOAD_CONCURRENCY (4),
# BENCH_PORT_ATREST (18473), BENCH_PORT_NGINX (18474), BENCH_PORT_SINK
# (18475), BENCH_KEEP_DIR=1 keeps the temp dir, BENCH_SKIP (space-separated
# sections to skip: transfer rss rotation revocation).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REPS="${BENCH_REPS:-3}"
BIG_MIB="${BENCH_BIG_MIB:-1024}"
RSS_MIB="${BENCH_RSS_MIB:-4096}"
FEW="${BENCH_FEW_FILES:-10}"
MANY="${BENCH_MANY_FILES:-10000}"
ROTATIONS="${BENCH_ROTATIONS:-20}"
REVOKE_TRIALS="${BENCH_REVOKE_TRIALS:-20}"
REVOKE_EXTRA="${BENCH_REVOKE_EXTRA_ACCOUNTS:-20}"
UPLOAD_CONC="${BENCH_UPLOAD_CONCURRENCY:-4}"
P1="${BENCH_PORT_ATREST:-18473}"
P2="${BENCH_PORT_NGINX:-18474}"
P3="${BENCH_PORT_SINK:-18475}"
SKIP=" ${BENCH_SKIP:-} "
ATREST_BIN="${ATREST_BIN:-build/release/src/app/atrest}"
BIG_BYTES=$((BIG_MIB << 20))
RSS_BYTES=$((RSS_MIB << 20))

log() { echo "bench-files: $*" >&2; }
die() { log "$*"; exit 1; }
want() { [[ "$SKIP" != *" $1 "* ]]; }

# --- Dependencies ---------------------------------------------------------
SUDO=()
if [[ "$(id -u)" != 0 ]]; then SUDO=(sudo); fi
NGINX="$(command -v nginx || true)"
[[ -z "$NGINX" && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
missing=()
[[ -z "$NGINX" ]] && missing+=(nginx-light)
for tool in curl jq python3 openssl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}..."
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
  log "$ATREST_BIN missing, building..."
  ./scripts/build.sh release >&2
  [[ -x "$ATREST_BIN" ]] || die "$ATREST_BIN still missing after the build"
fi
ATREST_BIN="$(cd "$(dirname "$ATREST_BIN")" && pwd)/$(basename "$ATREST_BIN")"

# --- Temp dir and cleanup -------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/atrest-bench-files.XXXXXX")"
ATREST_PID=""
NGINX_PID=""
SAMPLER_PID=""
cleanup() {
  local pid
  for pid in "$SAMPLER_PID" "$ATREST_PID" "$NGINX_PID"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  done
  for pid in "$SAMPLER_PID" "$ATREST_PID" "$NGINX_PID"; do
    [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
  done
  if [[ "${BENCH_KEEP_DIR:-0}" == 1 ]]; then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_kib=$(((BIG_BYTES * 4 + RSS_BYTES) / 1024 + 1048576))
avail_kib="$(df -Pk "$TMP" | awk 'NR == 2 {print $4}')"
((avail_kib > need_kib)) ||
  die "$TMP has $((avail_kib >> 20)) GiB free, needs $((need_kib >> 20)) GiB"
for p in "$P1" "$P2" "$P3"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "port $p is in use (set BENCH_PORT_ATREST/BENCH_PORT_NGINX/BENCH_PORT_SINK)"
  fi
done

RESULTS="$TMP/results.txt"  # "key value..." lines, read by the summary
: >"$RESULTS"
result() { echo "$*" >>"$RESULTS"; }
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START_SECONDS=$SECONDS

# --- atrest ---------------------------------------------------------------
DATA="$TMP/atrest"
# shellcheck source=lib/bench-atrest.sh
source "$ROOT/scripts/lib/bench-atrest.sh"
atrest_start "$DATA" "$P1" "$TMP/atrest.log" \
  --limits-max-upload-bytes $((RSS_BYTES > BIG_BYTES ? RSS_BYTES : BIG_BYTES))

ACCOUNTS=(big rss rotfew rotmany revoke)
RESOLVE=(--resolve "login.localhost:$P1:127.0.0.1"
         --resolve "management.localhost:$P1:127.0.0.1"
         --resolve "kv1.vault.localhost:$P1:127.0.0.1")
for a in "${ACCOUNTS[@]}"; do
  RESOLVE+=(--resolve "$a.openai.localhost:$P1:127.0.0.1")
done
CURL=(curl -sS --http1.1 --cacert "$CA" "${RESOLVE[@]}")

MGMT_TOKEN="$(atrest_token "$P1" "https://management.localhost:$P1")"
VAULT_TOKEN="$(atrest_token "$P1" "https://vault.localhost:$P1")"
RG="https://management.localhost:$P1/subscriptions/$SUB/resourceGroups/rg1"
acct_url() { echo "$RG/providers/Microsoft.CognitiveServices/accounts/$1?api-version=2024-10-01"; }
policy_body() {  # objectId
  echo "{\"properties\":{\"accessPolicies\":[{\"tenantId\":\"$TENANT\",\"objectId\":\"$1\",
         \"permissions\":{\"keys\":[\"get\",\"wrapKey\",\"unwrapKey\"]}}]}}"
}
VAULT_ARM="$RG/providers/Microsoft.KeyVault/vaults/kv1"
VAULT_URI="https://kv1.vault.localhost:$P1/"

log "setting up accounts and a key vault..."
arm PUT "$RG?api-version=2021-04-01" '{"location":"westeurope"}' >/dev/null
declare -A KEY PRINCIPAL
for a in "${ACCOUNTS[@]}"; do
  arm PUT "$(acct_url "$a")" \
    '{"location":"westeurope","kind":"OpenAI","sku":{"name":"S0"}}' >/dev/null
  KEY[$a]="$(arm POST "$RG/providers/Microsoft.CognitiveServices/accounts/$a/listKeys?api-version=2024-10-01" |
    jq -r .key1)"
done
arm PUT "$VAULT_ARM?api-version=2023-07-01" \
  "{\"location\":\"westeurope\",\"properties\":{\"tenantId\":\"$TENANT\",
    \"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"enableSoftDelete\":true,
    \"enablePurgeProtection\":true,\"accessPolicies\":[{\"tenantId\":\"$TENANT\",
    \"objectId\":\"$ADMIN_OID\",\"permissions\":{\"keys\":[\"all\"]}}]}}" >/dev/null
new_key_version() {
  "${CURL[@]}" -f -X POST "${VAULT_URI}keys/cmk/create?api-version=7.4" \
    -H "authorization: Bearer $VAULT_TOKEN" -H 'content-type: application/json' \
    -d '{"kty":"RSA","key_size":2048}' | jq -r '.key.kid | split("/") | last'
}
KV1="$(new_key_version)"
KV2="$(new_key_version)"
encryption_body() {  # version
  echo "{\"properties\":{\"encryption\":{\"keySource\":\"Microsoft.KeyVault\",
         \"keyVaultProperties\":{\"keyVaultUri\":\"$VAULT_URI\",\"keyName\":\"cmk\",
         \"keyVersion\":\"$1\"}}}}"
}
use_cmk() {  # account: system-assigned identity, access policy, CMK version 1
  local a=$1 state
  PRINCIPAL[$a]="$(arm PATCH "$(acct_url "$a")" '{"identity":{"type":"SystemAssigned"}}' |
    jq -r .identity.principalId)"
  arm PUT "$VAULT_ARM/accessPolicies/add?api-version=2023-07-01" \
    "$(policy_body "${PRINCIPAL[$a]}")" >/dev/null
  state="$(arm PATCH "$(acct_url "$a")" "$(encryption_body "$KV1")" |
    jq -r '.properties.encryptionStatus.state + " " + .properties.encryptionStatus.keyVersion')"
  [[ "$state" == "active $KV1" ]] || die "account $a under the CMK: $state"
}
for a in rotfew rotmany revoke; do use_cmk "$a"; done
CMK_ACCOUNTS=3

files_url() { echo "https://$1.openai.localhost:$P1/openai/v1/files"; }
delete_file() {  # account id
  "${CURL[@]}" -f -o /dev/null -X DELETE -H "api-key: ${KEY[$1]}" "$(files_url "$1")/$2"
}
# atrest's CPU time (user + system) in clock ticks; nginx's master + workers.
TICKS="$(getconf CLK_TCK)"
cpu_ticks() {  # pid...
  local pid total=0 t
  for pid in "$@"; do
    t="$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)"
    total=$((total + t))
  done
  echo "$total"
}
rss_kib() {  # pid [field] -> kB
  local k v _
  while read -r k v _; do
    [[ "$k" == "${2:-VmRSS}:" ]] && { echo "$v"; return; }
  done <"/proc/$1/status"
}
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }

# The python client for the many-request sections: keep-alive connections to
# 127.0.0.1 with SNI and certificate checks for the *.localhost names.
cat >"$TMP/client.py" <<'PY'
import http.client, json, os, socket, ssl, statistics, sys, threading, time

CA = os.environ["BF_CA"]
PORT = int(os.environ["BF_PORT"])
CTX = ssl.create_default_context(cafile=CA)


class Conn(http.client.HTTPSConnection):
    def __init__(self, host):
        super().__init__(host, PORT, context=CTX, timeout=120)

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", PORT), timeout=120)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = CTX.wrap_socket(sock, server_hostname=self.host)


def request(conn, method, path, body=None, headers=None):
    for attempt in (0, 1):
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        except (http.client.RemoteDisconnected, ConnectionResetError,
                BrokenPipeError):
            conn.close()  # A keep-alive connection the server closed.
            if attempt:
                raise


def content(i, size):
    line = f'{{"i": {i}, "text": "bench-files payload"}}\n'.encode()
    return (line * (size // len(line) + 1))[:size]


BOUNDARY = "----benchfilesboundary7MA4YWxkTrZu0gW"


def multipart(name, data):
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"'
            f'\r\n\r\nassistants\r\n--{BOUNDARY}\r\nContent-Disposition: '
            f'form-data; name="file"; filename="{name}"\r\n'
            f'Content-Type: application/octet-stream\r\n\r\n').encode()
    return (head + data + f'\r\n--{BOUNDARY}--\r\n'.encode(),
            f"multipart/form-data; boundary={BOUNDARY}")


def upload(host, key, n, size, conc, out):
    """n files of `size` bytes over `conc` keep-alive connections."""
    ids, errors, nxt, lock = [None] * n, [], [0], threading.Lock()

    def worker():
        c = Conn(host)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= n or errors:
                return
            body, ctype = multipart(f"f{i}.jsonl", content(i, size))
            st, data = request(c, "POST", "/openai/v1/files", body,
                               {"api-key": key, "Content-Type": ctype})
            if st != 201:
                errors.append((i, st, data[:300]))
                return
            ids[i] = json.loads(data)["id"]

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.monotonic() - t0
    if errors:
        sys.exit(f"upload to {host} failed: {errors[0]}")
    with open(out, "w") as f:
        f.write("\n".join(ids) + "\n")
    print(f"{n} {el:.3f}")


def check(host, key, ids_file, size, sample):
    """Downloads `sample` of the files (spread over the list) and compares."""
    ids = open(ids_file).read().split()
    c = Conn(host)
    step = max(1, len(ids) // sample)
    for i in range(0, len(ids), step):
        st, data = request(c, "GET", f"/openai/v1/files/{ids[i]}/content",
                           headers={"api-key": key})
        if st != 200 or data != content(i, size):
            sys.exit(f"file {i} ({ids[i]}) on {host}: {st} {data[:200]!r}")
    print(len(range(0, len(ids), step)))


def delete(host, key, ids_file, conc):
    """Deletes every file listed, over `conc` keep-alive connections."""
    ids = open(ids_file).read().split()
    errors, nxt, lock = [], [0], threading.Lock()

    def worker():
        c = Conn(host)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(ids) or errors:
                return
            st, data = request(c, "DELETE", f"/openai/v1/files/{ids[i]}",
                               headers={"api-key": key})
            if st != 200:
                errors.append((ids[i], st, data[:300]))

    ts = [threading.Thread(target=worker) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit(f"delete on {host} failed: {errors[0]}")
    print(len(ids))


def rotate(mgmt_path_by_name, token, body_by_version, versions, rounds):
    """PATCHes each account's keyVersion, alternating `versions`, `rounds`
    times, the accounts interleaved (their order swapped every round).
    Prints one line per PATCH: name round seconds."""
    c = Conn("management.localhost")
    h = {"Authorization": f"Bearer {token}",
         "Content-Type": "application/json"}
    names = list(mgmt_path_by_name)
    for path in mgmt_path_by_name.values():  # Warm the connection.
        st, _ = request(c, "GET", path, headers=h)
        assert st == 200, st
    for r in range(rounds):
        v = versions[(r + 1) % len(versions)]
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            t0 = time.perf_counter()
            st, data = request(c, "PATCH", mgmt_path_by_name[name],
                               body_by_version[v], h)
            el = time.perf_counter() - t0
            if st != 200:
                sys.exit(f"PATCH {name} to {v}: {st} {data[:300]!r}")
            es = json.loads(data)["properties"]["encryptionStatus"]
            if es.get("keyVersion") != v or es.get("state") != "active":
                sys.exit(f"PATCH {name} to {v}: encryptionStatus {es}")
            print(f"{name} {r} {el:.6f}", flush=True)


def revoke(host, key, file_id, add_path, remove_path, token, policy, trials,
           interval, limit):
    """Per trial: grant, poll until a download works; remove, poll every
    `interval` s until a download is refused (403 with
    CustomerManagedKeyInaccessible). Prints per trial:
    grant_seconds revoke_seconds downloads_that_worked_after_remove."""
    m = Conn("management.localhost")
    d = Conn(host)
    h = {"Authorization": f"Bearer {token}",
         "Content-Type": "application/json"}
    path = f"/openai/v1/files/{file_id}/content"
    dh = {"api-key": key}

    def poll(want):
        t0 = time.perf_counter()
        seen = 0
        while True:
            st, data = request(d, "GET", path, headers=dh)
            if st == want:
                if want == 403 and b"CustomerManagedKeyInaccessible" not in data:
                    sys.exit(f"403 without CustomerManagedKeyInaccessible: "
                             f"{data[:300]!r}")
                return time.perf_counter() - t0, seen
            if st not in (200, 403):
                sys.exit(f"download answered {st}: {data[:300]!r}")
            seen += 1
            if time.perf_counter() - t0 > limit:
                return None, seen
            time.sleep(interval)

    for t in range(trials):
        st, data = request(m, "PUT", add_path, policy, h)
        if st != 200:
            sys.exit(f"policy add: {st} {data[:300]!r}")
        grant, _ = poll(200)
        if grant is None:
            sys.exit(f"trial {t}: downloads still refused {limit} s after the grant")
        st, data = request(m, "PUT", remove_path, policy, h)
        if st != 200:
            sys.exit(f"policy remove: {st} {data[:300]!r}")
        lat, ok_after = poll(403)
        print(f"{grant:.6f} {'inf' if lat is None else f'{lat:.6f}'} {ok_after}",
              flush=True)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "upload":
        upload(args[0], args[1], int(args[2]), int(args[3]), int(args[4]),
               args[5])
    elif cmd == "delete":
        delete(args[0], args[1], args[2], int(args[3]))
    elif cmd == "check":
        check(args[0], args[1], args[2], int(args[3]), int(args[4]))
    elif cmd == "rotate":
        cfg = json.loads(args[0])
        rotate(cfg["paths"], os.environ["BF_TOKEN"], cfg["bodies"],
               cfg["versions"], int(cfg["rounds"]))
    elif cmd == "revoke":
        cfg = json.loads(args[0])
        revoke(cfg["host"], cfg["key"], cfg["file"], cfg["add"], cfg["remove"],
               os.environ["BF_TOKEN"], cfg["policy"], int(cfg["trials"]),
               float(cfg["interval"]), float(cfg["limit"]))
PY
client() { BF_CA="$CA" BF_PORT="$P1" BF_TOKEN="$MGMT_TOKEN" python3 "$TMP/client.py" "$@"; }

# Warm-up: one small upload and download on the account the RSS and transfer
# sections use.
head -c $((1 << 20)) /dev/urandom >"$TMP/warm.bin"
WARM_ID="$("${CURL[@]}" -f -H "api-key: ${KEY[big]}" -F purpose=assistants \
  -F file=@"$TMP/warm.bin" "$(files_url big)" | jq -r .id)"
"${CURL[@]}" -f -H "api-key: ${KEY[big]}" "$(files_url big)/$WARM_ID/content" |
  cmp - "$TMP/warm.bin" || die "warm-up file came back different"
log "setup done in $((SECONDS - START_SECONDS)) s"

# --- 2. RSS during a large upload (first, on a freshly started server) ----
if want rss; then
  log "RSS during a $RSS_MIB MiB upload..."
  truncate -s "$RSS_BYTES" "$TMP/sparse.bin"  # Zeros, no disk; atrest encrypts.
  sleep 1
  idle_samples=()
  for ((i = 0; i < 10; i++)); do idle_samples+=("$(rss_kib "$ATREST_PID")"); sleep 0.1; done
  IDLE_KIB="$(printf '%s\n' "${idle_samples[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  reset_hwm "$ATREST_PID"
  ( while kill -0 "$ATREST_PID" 2>/dev/null; do
      rss_kib "$ATREST_PID"; sleep 0.1
    done ) >"$TMP/rss-samples.txt" &
  SAMPLER_PID=$!
  out="$("${CURL[@]}" -H "api-key: ${KEY[rss]}" -F purpose=assistants \
    -F "file=@$TMP/sparse.bin;filename=big.bin" "$(files_url rss)" \
    -o "$TMP/rss-upload.json" -w '%{http_code} %{size_upload} %{time_total}')"
  kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
  read -r code _ secs <<<"$out"
  [[ "$code" == 201 ]] || die "the $RSS_MIB MiB upload answered $code: $(head -c 300 "$TMP/rss-upload.json")"
  [[ "$(jq -r .bytes "$TMP/rss-upload.json")" == "$RSS_BYTES" ]] || die "stored size differs"
  PEAK_KIB="$(sort -n "$TMP/rss-samples.txt" | tail -1)"
  HWM_KIB="$(rss_kib "$ATREST_PID" VmHWM)"
  NSAMPLES="$(wc -l <"$TMP/rss-samples.txt")"
  result rss "$IDLE_KIB" "$PEAK_KIB" "$HWM_KIB" "$NSAMPLES" "$secs" "$RSS_BYTES"
  log "RSS idle $IDLE_KIB kB, peak sampled $PEAK_KIB kB ($NSAMPLES samples), VmHWM $HWM_KIB kB, upload $secs s"
  delete_file rss "$(jq -r .id "$TMP/rss-upload.json")"
  rm -f "$TMP/sparse.bin"
fi

# --- 1. 1 GiB download and upload beside nginx ----------------------------
if want transfer; then
  log "making the $BIG_MIB MiB test file..."
  mkdir -p "$TMP/nginx/www" "$TMP/nginx/tmp"
  head -c "$BIG_BYTES" /dev/urandom >"$TMP/nginx/www/big.bin"
  SRC="$TMP/nginx/www/big.bin"
  SRC_SHA="$(sha256sum "$SRC" | cut -d' ' -f1)"
  # Started as root, nginx's workers run as nobody: let them reach the files.
  chmod 711 "$TMP" "$TMP/nginx"
  chmod 755 "$TMP/nginx/www"
  chmod 644 "$SRC"
  CORES="$(nproc)"
  cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $CORES;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/tmp/body;
  proxy_temp_path $TMP/nginx/tmp/proxy;
  fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
  uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
  scgi_temp_path $TMP/nginx/tmp/scgi;
  sendfile on;
  server {
    listen 127.0.0.1:$P2 ssl;
    server_name localhost;
    ssl_certificate $DATA/tls/server.crt;
    ssl_certificate_key $DATA/tls/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /files/ { alias $TMP/nginx/www/; }
    # The whole request body goes to a file in client_body_temp_path (kept:
    # client_body_in_file_only on), then the request is passed on without
    # its body to the sink below, which answers 201.
    location = /upload {
      client_max_body_size 0;
      client_body_in_file_only on;
      proxy_pass http://127.0.0.1:$P3/done;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Content-Type "";
      proxy_set_header X-File \$request_body_file;
    }
  }
  server {
    listen 127.0.0.1:$P3;
    location = /done { return 201 "\$http_x_file\n"; }
  }
}
EOF
  "$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -g 'daemon off;' \
    >"$TMP/nginx.log" 2>&1 &
  NGINX_PID=$!
  for ((i = 0; i < 100; i++)); do
    curl -sf --cacert "$CA" -o /dev/null -r 0-0 "https://localhost:$P2/files/big.bin" && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx.log" "$TMP/nginx/error.log" >&2; die "nginx exited"; }
    sleep 0.1
  done
  ((i < 100)) || die "nginx did not start"
  # shellcheck disable=SC2046  # One pid per word.
  nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true); }

  # Same protocol and cipher for both: TLS 1.3, TLS_AES_256_GCM_SHA384
  # (also what each negotiates by default), HTTP/1.1.
  TCURL=("${CURL[@]}" --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384)
  A_URL="$(files_url big)"
  N_URL="https://localhost:$P2"
  tls_of() {
    "${TCURL[@]}" -v -o /dev/null -r 0-0 "$@" 2>&1 |
      sed -n 's/^\* SSL connection using \(.*\)$/\1/p' | head -1
  }

  log "warm-up: one upload and one checked download each..."
  BIG_ID="$("${TCURL[@]}" -f -H "api-key: ${KEY[big]}" -F purpose=assistants \
    -F "file=@$SRC" "$A_URL" | jq -r .id)"
  [[ "$BIG_ID" == file-* ]] || die "warm-up upload to atrest failed"
  [[ "$("${TCURL[@]}" -f -H "api-key: ${KEY[big]}" "$A_URL/$BIG_ID/content" |
        sha256sum | cut -d' ' -f1)" == "$SRC_SHA" ]] || die "atrest download differs"
  [[ "$("${TCURL[@]}" -f "$N_URL/files/big.bin" | sha256sum | cut -d' ' -f1)" == "$SRC_SHA" ]] ||
    die "nginx download differs"
  "${TCURL[@]}" -f -o /dev/null -F purpose=assistants -F "file=@$SRC" "$N_URL/upload"
  rm -f "$TMP/nginx/tmp/body/"*
  TLS_A="$(tls_of -H "api-key: ${KEY[big]}" "$A_URL/$BIG_ID/content")"
  TLS_N="$(tls_of "$N_URL/files/big.bin")"

  # One timed transfer: prints "MB/s seconds cpu_seconds"; checks status
  # and size, and for uploads that the body really was stored.
  transfer() {  # server direction rep
    local server=$1 dir=$2 pids c0 c1 out code up down secs file
    if [[ $server == atrest ]]; then pids="$ATREST_PID"; else pids="$(nginx_pids)"; fi
    [[ $server == atrest ]] && reset_hwm "$ATREST_PID"
    c0="$(cpu_ticks $pids)"
    case "$server/$dir" in
      atrest/down) out="$("${TCURL[@]}" -H "api-key: ${KEY[big]}" -o /dev/null \
          -w '%{http_code} %{size_upload} %{size_download} %{time_total}' \
          "$A_URL/$BIG_ID/content")" ;;
      nginx/down) out="$("${TCURL[@]}" -o /dev/null \
          -w '%{http_code} %{size_upload} %{size_download} %{time_total}' \
          "$N_URL/files/big.bin")" ;;
      atrest/up) out="$("${TCURL[@]}" -H "api-key: ${KEY[big]}" -o "$TMP/up.json" \
          -F purpose=assistants -F "file=@$SRC" \
          -w '%{http_code} %{size_upload} %{size_download} %{time_total}' "$A_URL")" ;;
      nginx/up) out="$("${TCURL[@]}" -o "$TMP/up.json" \
          -F purpose=assistants -F "file=@$SRC" \
          -w '%{http_code} %{size_upload} %{size_download} %{time_total}' \
          "$N_URL/upload")" ;;
    esac
    c1="$(cpu_ticks $pids)"
    read -r code up down secs <<<"$out"
    case "$server/$dir" in
      */down) [[ "$code" == 200 && "$down" == "$BIG_BYTES" ]] ||
          die "$server download: $code, $down bytes" ;;
      atrest/up)
        [[ "$code" == 201 && "$(jq -r .bytes "$TMP/up.json")" == "$BIG_BYTES" ]] ||
          die "atrest upload: $code $(head -c 300 "$TMP/up.json")"
        delete_file big "$(jq -r .id "$TMP/up.json")" ;;
      nginx/up)
        file="$(head -1 "$TMP/up.json")"
        [[ "$code" == 201 && -f "$file" && "$(stat -c %s "$file")" == "$up" ]] ||
          die "nginx upload: $code, body file '$file' $(stat -c %s "$file" 2>/dev/null) bytes, sent $up"
        rm -f "$file" ;;
    esac
    local hwm=""
    [[ $server == atrest ]] && hwm="$(rss_kib "$ATREST_PID" VmHWM)"
    result transfer "$server" "$dir" "$3" "$secs" "$((c1 - c0))" "$TICKS" "$up" "$hwm"
    awk -v b="$BIG_BYTES" -v s="$secs" -v c=$((c1 - c0)) -v hz="$TICKS" \
      -v n="$server" -v d="$dir" -v r="$3" 'BEGIN {
        printf "bench-files: %s %s #%s: %.0f MB/s (%.2f s, server CPU %.2f s)\n",
          n, d, r, b / s / 1e6, s, c / hz}' >&2
  }
  log "transfers: $REPS repetitions, alternating which server goes first..."
  for ((r = 1; r <= REPS; r++)); do
    for dir in down up; do
      if ((r % 2)); then transfer atrest $dir $r; transfer nginx $dir $r
      else transfer nginx $dir $r; transfer atrest $dir $r; fi
    done
  done
  result rss_after_transfers "$(rss_kib "$ATREST_PID")"
  result tls "$TLS_A" "|" "$TLS_N"
  delete_file big "$BIG_ID"
  kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
  rm -f "$SRC"
fi

# --- 3. Rotation with few and many files ----------------------------------
blob_snapshot() {  # account ids_file out -> path inode size mtime per blob
  local dir
  dir="$(dirname "$(find "$DATA/blobs" -name "$(head -1 "$2")" -print -quit)")"
  [[ -d "$dir" ]] || die "no blob directory for account $1"
  find "$dir" -type f -printf '%p %i %s %T@\n' | sort >"$3"
  echo "$dir"
}
if want rotation; then
  SMALL=1024
  paths_json() {  # account...
    local a sep="" s="{"
    for a in "$@"; do
      s+="$sep\"$a\":\"/subscriptions/$SUB/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/$a?api-version=2024-10-01\""
      sep=","
    done
    echo "$s}"
  }
  rot_cfg() {  # rounds account...
    local rounds=$1; shift
    jq -nc --argjson paths "$(paths_json "$@")" --arg v1 "$KV1" --arg v2 "$KV2" \
      --arg b1 "$(encryption_body "$KV1" | tr -d '\n')" \
      --arg b2 "$(encryption_body "$KV2" | tr -d '\n')" --arg rounds "$rounds" \
      '{paths: $paths, versions: [$v1, $v2], bodies: {($v1): $b1, ($v2): $b2},
        rounds: $rounds}'
  }
  log "rotation: $FEW files in account rotfew..."
  read -r n secs < <(client upload rotfew.openai.localhost "${KEY[rotfew]}" "$FEW" "$SMALL" 1 "$TMP/ids-few.txt")
  log "  $ROTATIONS rotations with $FEW files (before the many are uploaded)..."
  client rotate "$(rot_cfg "$ROTATIONS" rotfew)" | sed 's/^/rotA /' >>"$RESULTS"
  log "rotation: uploading $MANY files to account rotmany ($UPLOAD_CONC connections)..."
  read -r n secs < <(client upload rotmany.openai.localhost "${KEY[rotmany]}" "$MANY" "$SMALL" "$UPLOAD_CONC" "$TMP/ids-many.txt")
  result upload_many "$n" "$secs"
  log "  $n uploads in $secs s"
  DIR_MANY="$(blob_snapshot rotmany "$TMP/ids-many.txt" "$TMP/blobs-before-many.txt")"
  blob_snapshot rotfew "$TMP/ids-few.txt" "$TMP/blobs-before-few.txt" >/dev/null
  [[ "$(wc -l <"$TMP/blobs-before-many.txt")" == "$MANY" ]] ||
    die "expected $MANY blobs in $DIR_MANY, found $(wc -l <"$TMP/blobs-before-many.txt")"
  log "  $ROTATIONS rotations with $MANY files in the store..."
  client rotate "$(rot_cfg "$ROTATIONS" rotmany)" | sed 's/^/rotB /' >>"$RESULTS"
  log "  $ROTATIONS interleaved rotations of both accounts..."
  client rotate "$(rot_cfg "$ROTATIONS" rotfew rotmany)" | sed 's/^/rotC /' >>"$RESULTS"
  blob_snapshot rotmany "$TMP/ids-many.txt" "$TMP/blobs-after-many.txt" >/dev/null
  blob_snapshot rotfew "$TMP/ids-few.txt" "$TMP/blobs-after-few.txt" >/dev/null
  unchanged=yes
  cmp -s "$TMP/blobs-before-many.txt" "$TMP/blobs-after-many.txt" || unchanged=no
  cmp -s "$TMP/blobs-before-few.txt" "$TMP/blobs-after-few.txt" || unchanged=no
  checked_many="$(client check rotmany.openai.localhost "${KEY[rotmany]}" "$TMP/ids-many.txt" "$SMALL" 100)"
  checked_few="$(client check rotfew.openai.localhost "${KEY[rotfew]}" "$TMP/ids-few.txt" "$SMALL" "$FEW")"
  result blobs "$unchanged" "$(wc -l <"$TMP/blobs-after-many.txt")" \
    "$(wc -l <"$TMP/blobs-after-few.txt")" "$checked_many" "$checked_few"
  log "  blob files unchanged (path, inode, size, mtime): $unchanged; downloads checked: $checked_many + $checked_few"
  [[ "$unchanged" == yes ]] || diff "$TMP/blobs-before-many.txt" "$TMP/blobs-after-many.txt" | head >&2 || true
  # A-B-A: the few-files case again once the many are gone, so that a drift
  # of the machine's load between the phases does not pass for an effect.
  log "rotation: deleting the $MANY files, then $ROTATIONS rotations with $FEW files again..."
  client delete rotmany.openai.localhost "${KEY[rotmany]}" "$TMP/ids-many.txt" "$UPLOAD_CONC" >/dev/null
  result blobs_left "$(find "$DIR_MANY" -type f | wc -l)"
  client rotate "$(rot_cfg "$ROTATIONS" rotfew)" | sed 's/^/rotA2 /' >>"$RESULTS"
fi

# --- 4. Revocation latency ------------------------------------------------
if want revocation; then
  log "revocation: $REVOKE_TRIALS trials..."
  printf 'revocation probe\n' >"$TMP/small.txt"
  REV_ID="$("${CURL[@]}" -f -H "api-key: ${KEY[revoke]}" -F purpose=assistants \
    -F "file=@$TMP/small.txt" "$(files_url revoke)" | jq -r .id)"
  vpath="/subscriptions/$SUB/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1/accessPolicies"
  cfg="$(jq -nc --arg host revoke.openai.localhost --arg key "${KEY[revoke]}" \
    --arg file "$REV_ID" --arg add "$vpath/add?api-version=2023-07-01" \
    --arg remove "$vpath/remove?api-version=2023-07-01" \
    --arg policy "$(policy_body "${PRINCIPAL[revoke]}" | tr -d '\n')" \
    --arg trials "$REVOKE_TRIALS" \
    '{host: $host, key: $key, file: $file, add: $add, remove: $remove,
      policy: $policy, trials: $trials, interval: "0.01", limit: "30"}')"
  client revoke "$cfg" | sed "s/^/revoke $CMK_ACCOUNTS /" >>"$RESULTS"
  if ((REVOKE_EXTRA > 0)); then
    log "revocation: $REVOKE_EXTRA more accounts on the same vault key..."
    for ((i = 1; i <= REVOKE_EXTRA; i++)); do
      arm PUT "$(acct_url "extra$i")" \
        '{"location":"westeurope","kind":"OpenAI","sku":{"name":"S0"}}' >/dev/null
      use_cmk "extra$i"
    done
    CMK_ACCOUNTS=$((CMK_ACCOUNTS + REVOKE_EXTRA))
    log "revocation: $REVOKE_TRIALS trials with $CMK_ACCOUNTS accounts on the vault..."
    client revoke "$cfg" | sed "s/^/revoke $CMK_ACCOUNTS /" >>"$RESULTS"
  fi
  # What one download of the probe takes when it works: the resolution of
  # the polling above, beside its 10 ms sleep.
  for ((i = 0; i < 20; i++)); do
    "${CURL[@]}" -o /dev/null -H "api-key: ${KEY[revoke]}" \
      -w '%{time_total} %{time_appconnect}\n' "$(files_url revoke)/$REV_ID/content"
  done | sed 's/^/probe /' >>"$RESULTS"
fi

# --- Summary --------------------------------------------------------------
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
result meta_seconds $((SECONDS - START_SECONDS))
export RESULTS LOAD_BEFORE LOAD_AFTER ATREST_BIN BIG_BYTES FEW MANY
NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
CURL_VERSION="$(curl --version | head -1 | cut -d' ' -f1-2)"
CORES="$(nproc)"
export NGINX_VERSION CURL_VERSION CORES
python3 - <<'PY'
import os, statistics
from collections import defaultdict

env = os.environ
rows = [l.split() for l in open(env["RESULTS"]) if l.strip()]
by = defaultdict(list)
for r in rows:
    by[r[0]].append(r[1:])
med = statistics.median
big = int(env["BIG_BYTES"])
summary = []  # (figure, value, baseline, ratio, target, verdict)

print(f"atrest: {env['ATREST_BIN']}; nginx: {env['NGINX_VERSION']}; "
      f"client: {env['CURL_VERSION']}; {env['CORES']} cores; load average "
      f"{env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after; "
      f"{by['meta_seconds'][0][0]} s in all")
print()

if by["transfer"]:
    tls = " ".join(by["tls"][0]).split(" | ")
    print(f"### 1. {big >> 20} MiB over HTTPS, one curl transfer at a time")
    print()
    form = [int(r[6]) - big for r in by["transfer"] if r[1] == "up"]
    print(f"TLS: atrest {tls[0]}; nginx {tls[1]}. MB/s = 10^6 bytes of the "
          f"{big >> 20} MiB payload per second of curl's total time (uploads: "
          f"the same multipart form to both, curl -F; the {form[0]} bytes of "
          f"form around the file are not counted).")
    print()
    print("| direction | rep | atrest MB/s | nginx MB/s | atrest / nginx "
          "| atrest server CPU s | nginx server CPU s | atrest VmHWM |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    t = {}
    for name, d, rep, secs, ticks, hz, up, *hwm in by["transfer"]:
        t[(name, d, int(rep))] = (big / float(secs) / 1e6,
                                  int(ticks) / int(hz), hwm[0] if hwm else "")
    for d, label, target in (("down", "download", 0.70), ("up", "upload", 0.60)):
        reps = sorted({k[2] for k in t if k[1] == d})
        a_all, n_all, ac, nc, ratios = [], [], [], [], []
        for rep in reps:
            a, n = t[("atrest", d, rep)], t[("nginx", d, rep)]
            a_all.append(a[0]); n_all.append(n[0]); ac.append(a[1]); nc.append(n[1])
            ratios.append(a[0] / n[0])
            print(f"| {label} | {rep} | {a[0]:.0f} | {n[0]:.0f} | "
                  f"{100 * a[0] / n[0]:.0f}% | {a[1]:.2f} | {n[1]:.2f} | "
                  f"{int(a[2]) / 1024:.0f} MiB |")
        am, nm = med(a_all), med(n_all)
        ab, nb = max(a_all), max(n_all)
        r = med(ratios)
        print(f"| {label} | **median** | **{am:.0f}** | **{nm:.0f}** | "
              f"**{100 * r:.0f}%** (of medians: {100 * am / nm:.0f}%) | "
              f"{med(ac):.2f} | {med(nc):.2f} |  |")
        print(f"| {label} | best | {ab:.0f} | {nb:.0f} | {100 * ab / nb:.0f}% |  |  |  |")
        summary.append((f"{big >> 20} MiB {label}, median of {len(reps)}",
                        f"{am:.0f} MB/s", f"nginx {nm:.0f} MB/s",
                        f"{100 * r:.0f}% (per-rep {', '.join(f'{100 * x:.0f}' for x in ratios)}; "
                        f"best/best {100 * ab / nb:.0f}%)",
                        f">= {100 * target:.0f}%",
                        "met" if r >= target else "NOT met"))
        summary.append((f"{big >> 20} MiB {label}, server CPU per transfer",
                        f"{med(ac):.2f} s", f"nginx {med(nc):.2f} s",
                        f"{100 * med(ac) / med(nc):.0f}%", "-", "-"))
    print()
    print(f"atrest RSS after the transfers: "
          f"{int(by['rss_after_transfers'][0][0]) / 1024:.1f} MiB")
    print()

if by["rss"]:
    idle, peak, hwm, n, secs, size = by["rss"][0]
    idle, peak, hwm = int(idle) / 1024, int(peak) / 1024, int(hwm) / 1024
    top = max(peak, hwm)
    print(f"### 2. atrest RSS during a {int(size) >> 20} MiB upload")
    print()
    print(f"Idle {idle:.1f} MiB; peak {peak:.1f} MiB over {n} samples "
          f"(every 100 ms), VmHWM {hwm:.1f} MiB; peak - idle "
          f"**{top - idle:.1f} MiB**; the upload took {float(secs):.1f} s "
          f"({int(size) / float(secs) / 1e6:.0f} MB/s).")
    print()
    summary.append((f"RSS growth during a {int(size) >> 20} MiB upload",
                    f"{top - idle:.1f} MiB (peak {top:.1f})",
                    f"idle {idle:.1f} MiB", f"peak/idle {top / idle:.2f}",
                    "<= 64 MiB", "met" if top - idle <= 64 else "NOT met"))

def ms(x):
    return f"{1000 * x:.1f} ms"

if by["rotA"]:
    A1 = [float(r[2]) for r in by["rotA"]]
    A2 = [float(r[2]) for r in by["rotA2"]]
    A = A1 + A2
    B = [float(r[2]) for r in by["rotB"]]
    Cf = [float(r[2]) for r in by["rotC"] if r[0] == "rotfew"]
    Cm = [float(r[2]) for r in by["rotC"] if r[0] == "rotmany"]
    un, nm_, nf, chk_m, chk_f = by["blobs"][0]
    n_up, up_s = by["upload_many"][0]
    print(f"### 3. Key rotation (PATCH keyVersion), {len(A1)} per case")
    print()
    print(f"{n_up} files uploaded in {float(up_s):.1f} s "
          f"({int(n_up) / float(up_s):.0f}/s).")
    print()
    print("| case | median | min | max | vs 10-file median |")
    print("| --- | --- | --- | --- | --- |")
    base = med(A)
    for label, xs in (
            (f"A1: {env['FEW']} files, before the {env['MANY']} were uploaded", A1),
            (f"B: {env['MANY']} files", B),
            (f"C: {env['FEW']} files, interleaved with D", Cf),
            (f"D: {env['MANY']} files, interleaved with C", Cm)):
        print(f"| {label} | {ms(med(xs))} | {ms(min(xs))} | {ms(max(xs))} | "
              f"{100 * med(xs) / base:.0f}% |")
    print(f"| A2: {env['FEW']} files, after the {env['MANY']} were deleted "
          f"({by['blobs_left'][0][0]} of their blob files left) | {ms(med(A2))} | "
          f"{ms(min(A2))} | {ms(max(A2))} | {100 * med(A2) / base:.0f}% |")
    print(f"| A = A1 and A2 together (the baseline) | {ms(base)} | {ms(min(A))} "
          f"| {ms(max(A))} | 100% |")
    print()
    print(f"Blob files unchanged by the {len(A1) + len(B) + len(Cf) + len(Cm)} rotations "
          f"(path, inode, size, mtime of {nm_} + {nf} files): **{un}**; "
          f"{chk_m} + {chk_f} files downloaded and compared after them.")
    print()
    r1 = med(B) / base
    r2 = med(Cm) / med(Cf)
    summary.append((f"rotation, median PATCH with {env['MANY']} files",
                    ms(med(B)), f"{env['FEW']} files (before and after): {ms(base)}",
                    f"{r1:.2f} (B/A1 {med(B) / med(A1):.2f}, B/A2 "
                    f"{med(B) / med(A2):.2f}; interleaved D/C: {r2:.2f})", "<= 1.2",
                    "met" if r1 <= 1.2 and r2 <= 1.2 else "NOT met"))
    summary.append(("rotation rewrites no blob file", un, "-", "-", "yes",
                    "met" if un == "yes" else "NOT met"))

if by["revoke"]:
    probe = [float(r[0]) for r in by["probe"]]
    def pct(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
    print(f"### 4. Revocation latency")
    print()
    print(f"From the return of accessPolicies/remove to the first 403 "
          f"(CustomerManagedKeyInaccessible) download, polling every 10 ms "
          f"on a keep-alive connection. One download of the probe file with "
          f"curl (new connection): p50 {ms(med(probe))}.")
    print()
    print("| CMK accounts on the vault | trials | p50 | p90 | max | downloads that still worked after the remove (all / max per trial) | grant to first working download p50 / max |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    groups = defaultdict(list)
    for r in by["revoke"]:
        groups[int(r[0])].append(r[1:])
    for n in sorted(groups):
        g = [float(r[0]) for r in groups[n]]
        lat = [float(r[1]) for r in groups[n]]
        after = [int(r[2]) for r in groups[n]]
        print(f"| {n} | {len(lat)} | **{ms(med(lat))}** | {ms(pct(lat, 90))} | "
              f"**{ms(max(lat))}** | {sum(after)} / {max(after)} | "
              f"{ms(med(g))} / {ms(max(g))} |")
        summary.append((f"revocation latency p50 / max, {n} CMK accounts on the vault",
                        f"{ms(med(lat))} / {ms(max(lat))}",
                        "target 1 s", f"max {100 * max(lat):.0f}% of 1 s", "<= 1 s",
                        "met" if max(lat) <= 1 else "NOT met"))
    print()

print("### Summary")
print()
print("| figure | value | baseline | ratio | target | |")
print("| --- | --- | --- | --- | --- | --- |")
for row in summary:
    print("| " + " | ".join(row) + " |")
PY
