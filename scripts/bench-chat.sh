#!/usr/bin/env bash
# Fine-tuning and chat completion benchmarks (docs/benchmarks.md):
#
#  1. A fine-tuning job of the built-in trainer on BENCH_EXAMPLES (50) chat
#     examples, 3 epochs, through the API: wall time from create to
#     succeeded, and training examples per second (examples x epochs / job
#     time). The trainer alone is measured by bench/training_bench.cc.
#  2. Chat completions of one deployment of that model over HTTPS
#     keep-alive with wrk (POST /openai/v1/chat/completions, one of the
#     training prompts, temperature 0): requests/s and latency p50/p99,
#     beside `GET /healthz` of the same server measured the same way in the
#     same run (the baseline: TLS, HTTP and routing with no work), at
#     BENCH_CONNS connections, BENCH_ROUNDS rounds alternating which goes
#     first.
#
# Prints progress on stderr and a Markdown summary on stdout.
#
#   scripts/bench-chat.sh                  # ~1 min
#   ATREST_BIN=/path/to/atrest scripts/bench-chat.sh
#
# Knobs: BENCH_EXAMPLES (50), BENCH_ROUNDS (3), BENCH_SECONDS (10),
# BENCH_CONNS (8), BENCH_THREADS (wrk -t, 2), BENCH_PORT_ATREST (18483),
# BENCH_KEEP_DIR=1 keeps the temp dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

EXAMPLES="${BENCH_EXAMPLES:-50}"
ROUNDS="${BENCH_ROUNDS:-3}"
SECS="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNS:-8}"
WRK_THREADS="${BENCH_THREADS:-2}"
P1="${BENCH_PORT_ATREST:-18483}"
ATREST_BIN="${ATREST_BIN:-build/release/src/app/atrest}"

log() { echo "bench-chat: $*" >&2; }
die() { log "$*"; exit 1; }

SUDO=()
if [[ "$(id -u)" != 0 ]]; then SUDO=(sudo); fi
missing=()
for tool in curl jq python3 wrk; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}..."
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q >/dev/null
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >/dev/null
fi
if [[ ! -x "$ATREST_BIN" ]]; then
  log "$ATREST_BIN missing, building..."
  ./scripts/build.sh release >&2
fi
ATREST_BIN="$(cd "$(dirname "$ATREST_BIN")" && pwd)/$(basename "$ATREST_BIN")"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/atrest-bench-chat.XXXXXX")"
ATREST_PID=""
cleanup() {
  if [[ -n "$ATREST_PID" ]]; then
    kill "$ATREST_PID" 2>/dev/null || true
    wait "$ATREST_PID" 2>/dev/null || true
  fi
  if [[ "${BENCH_KEEP_DIR:-0}" == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if (exec 3<>"/dev/tcp/127.0.0.1/$P1") 2>/dev/null; then
  die "port $P1 is in use (set BENCH_PORT_ATREST)"
fi
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- atrest ---------------------------------------------------------------
# shellcheck source=lib/bench-atrest.sh
source "$ROOT/scripts/lib/bench-atrest.sh"
atrest_start "$TMP/atrest" "$P1" "$TMP/atrest.log"
HOST="chat.openai.localhost"
CURL=(curl -sS --http1.1 --cacert "$CA"
      --resolve "login.localhost:$P1:127.0.0.1"
      --resolve "management.localhost:$P1:127.0.0.1"
      --resolve "$HOST:$P1:127.0.0.1")
MGMT_TOKEN="$(atrest_token "$P1" "https://management.localhost:$P1")"
RG="https://management.localhost:$P1/subscriptions/$SUB/resourceGroups/rg1"
ACCOUNT="$RG/providers/Microsoft.CognitiveServices/accounts/chat"
arm PUT "$RG?api-version=2021-04-01" '{"location":"westeurope"}' >/dev/null
arm PUT "$ACCOUNT?api-version=2024-10-01" \
  '{"location":"westeurope","kind":"OpenAI","sku":{"name":"S0"}}' >/dev/null
KEY="$(arm POST "$ACCOUNT/listKeys?api-version=2024-10-01" | jq -r .key1)"
API="https://$HOST:$P1/openai/v1"
data() {  # method path [curl args...] -> body; fails on a non-2xx status
  local m=$1 p=$2 out code
  shift 2
  out="$("${CURL[@]}" -X "$m" "$API$p" -H "api-key: $KEY" "$@" -w '\n%{http_code}')"
  code="${out##*$'\n'}"
  [[ "$code" == 2* ]] || die "$m $p answered $code: ${out%$'\n'*}"
  printf '%s\n' "${out%$'\n'*}"
}

# --- 1. Fine-tuning ---------------------------------------------------------
python3 - "$EXAMPLES" >"$TMP/train.jsonl" <<'PY'
import json, sys
topics = ["invoices", "the boiler", "a flat tyre", "password resets", "a late train",
          "tomato blight", "the quarterly report", "a lost passport", "noisy fans",
          "bread that will not rise"]
for i in range(int(sys.argv[1])):
    t = topics[i % len(topics)]
    q = f"Question {i}: what should I do about {t} in case {i * 7 + 3}?"
    a = (f"For case {i * 7 + 3} about {t}, start with step {i % 5 + 1}. "
         f"Then write down reference {1000 + i} and check again tomorrow.")
    print(json.dumps({"messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": q},
        {"role": "assistant", "content": a}]}))
PY
FILE="$(data POST /files -F purpose=fine-tune -F "file=@$TMP/train.jsonl" | jq -r .id)"
log "training on $EXAMPLES examples..."
t0="$(date +%s.%N)"
JOB="$(data POST /fine_tuning/jobs -H 'content-type: application/json' \
  -d "{\"model\":\"atrest-ngram-1\",\"training_file\":\"$FILE\",
       \"hyperparameters\":{\"n_epochs\":3},\"seed\":7}" | jq -r .id)"
while :; do
  job="$(data GET "/fine_tuning/jobs/$JOB")"
  status="$(jq -r .status <<<"$job")"
  [[ "$status" == succeeded ]] && break
  [[ "$status" == pending || "$status" == running ]] || die "job $status: $job"
  sleep 0.05
done
t1="$(date +%s.%N)"
MODEL="$(jq -r .fine_tuned_model <<<"$job")"
JOB_SECONDS="$(python3 -c "print(f'{$t1 - $t0:.2f}')")"
JOB_EPS="$(python3 -c "print(f'{$EXAMPLES * 3 / ($t1 - $t0):.0f}')")"
log "job $JOB succeeded in $JOB_SECONDS s ($JOB_EPS examples/s)"

arm PUT "$ACCOUNT/deployments/bench?api-version=2024-10-01" \
  "{\"sku\":{\"name\":\"Standard\",\"capacity\":1},
    \"properties\":{\"model\":{\"format\":\"OpenAI\",\"name\":\"$MODEL\",\"version\":\"1\"}}}" \
  >/dev/null
PROMPT="$(head -1 "$TMP/train.jsonl" | jq -c '.messages[:2]')"
BODY="{\"model\":\"bench\",\"temperature\":0,\"messages\":$PROMPT}"
WANT="$(head -1 "$TMP/train.jsonl" | jq -r '.messages[2].content')"
GOT="$(data POST /chat/completions -H 'content-type: application/json' -d "$BODY" |
  jq -r '.choices[0].message.content')"
[[ "$GOT" == "$WANT" ]] || die "the deployment answered '$GOT', trained '$WANT'"

# --- 2. Chat completions against /healthz ---------------------------------
lua_body="$(jq -Rs . <<<"$BODY")"
cat >"$TMP/chat.lua" <<LUA
wrk.method = "POST"
wrk.body = $lua_body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["api-key"] = "$KEY"
wrk.headers["Host"] = "$HOST"
LUA
run_wrk() {  # name round -> "rps p50_ms p99_ms"
  local out="$TMP/wrk-$1-$2.txt" args=()
  if [[ "$1" == chat ]]; then
    args=(-s "$TMP/chat.lua" "https://127.0.0.1:$P1/openai/v1/chat/completions")
  else
    args=(-H "Host: localhost" "https://127.0.0.1:$P1/healthz")
  fi
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"${SECS}s" --latency "${args[@]}" >"$out" 2>&1
  if grep -q "Non-2xx" "$out"; then cat "$out" >&2; die "wrk saw errors ($1)"; fi
  python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
print(f"{rps:.0f} {ms('50'):.2f} {ms('99'):.2f}")
PY
}
wrk -t"$WRK_THREADS" -c"$CONNS" -d2s -s "$TMP/chat.lua" \
  "https://127.0.0.1:$P1/openai/v1/chat/completions" >/dev/null 2>&1
declare -a CHAT HEALTH
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then
    CHAT+=("$(run_wrk chat "$r")"); HEALTH+=("$(run_wrk healthz "$r")")
  else
    HEALTH+=("$(run_wrk healthz "$r")"); CHAT+=("$(run_wrk chat "$r")")
  fi
  log "round $r: chat ${CHAT[-1]}, healthz ${HEALTH[-1]} (req/s p50 p99)"
done

# --- Summary --------------------------------------------------------------
python3 - "$ROUNDS" "$CONNS" "$SECS" "$EXAMPLES" "$JOB_SECONDS" "$JOB_EPS" \
  "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)" "${CHAT[@]}" "${HEALTH[@]}" <<'PY'
import statistics, sys
rounds, conns, secs = int(sys.argv[1]), sys.argv[2], sys.argv[3]
examples, job_s, job_eps = sys.argv[4], sys.argv[5], sys.argv[6]
load0, load1 = sys.argv[7], sys.argv[8]
rows = [list(map(float, x.split())) for x in sys.argv[9:]]
chat, health = rows[:rounds], rows[rounds:]
med = lambda rs, i: statistics.median(r[i] for r in rs)
print(f"Fine-tuning job, built-in trainer, {examples} examples x 3 epochs: "
      f"{job_s} s from create to succeeded, {job_eps} examples/s.\n")
print(f"Chat completions, one deployment, {conns} keep-alive connections, "
      f"{secs} s x {rounds} rounds (median):\n")
print("| | req/s | p50 ms | p99 ms |")
print("|---|---:|---:|---:|")
print(f"| POST /openai/v1/chat/completions | {med(chat,0):.0f} | {med(chat,1):.2f} | {med(chat,2):.2f} |")
print(f"| GET /healthz (baseline) | {med(health,0):.0f} | {med(health,1):.2f} | {med(health,2):.2f} |")
print(f"| ratio chat / baseline | {med(chat,0)/med(health,0):.2f} | "
      f"{med(chat,1)/med(health,1):.2f} | {med(chat,2)/med(health,2):.2f} |")
print(f"\nLoad average before {load0}, after {load1}.")
PY
