#!/usr/bin/env bash
# Builds the Google Benchmark targets (Release, in build-bench/) if needed,
# runs them together with `openssl speed rsa2048` as the RSA baseline, and
# prints a Markdown summary comparing each atrest figure with its baseline
# from the same run. docs/benchmarks.md is written from this output.
#
#   scripts/bench.sh                      # whole run, under 2 minutes
#   BENCH_REPETITIONS=1 scripts/bench.sh  # quicker, noisier
#   BENCH_FILTER='Stream' scripts/bench.sh
#   BENCH_NO_BUILD=1 scripts/bench.sh     # use the binaries as built
#
# Outputs: build-bench/stream_bench.json, build-bench/rsa_bench.json,
# build-bench/openssl_speed_rsa2048.txt, build-bench/summary.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BENCH_BUILD_DIR:-$ROOT/build-bench}"
REPS="${BENCH_REPETITIONS:-5}"
FILTER="${BENCH_FILTER:-.}"

# BENCH_NO_BUILD=1 runs the binaries already in $BUILD as they are.
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
      -DATREST_BENCH=ON -DATREST_TESTS=OFF -DATREST_FUZZ=OFF \
      -DATREST_SANITIZE=OFF >/dev/null
  fi
  if ! cmake --build "$BUILD" --target stream_bench rsa_bench \
        -j"$(nproc)" >"$BUILD/build.log" 2>&1; then
    grep -E 'error|Error' "$BUILD/build.log" | head -20 >&2
    echo "bench: build failed (log: $BUILD/build.log)" >&2
    exit 1
  fi
fi

# Repetitions are interleaved at random so that a noisy neighbour on the VM
# hits the streaming case and its baseline alike; the summary uses medians.
BENCH_ARGS=(--benchmark_format=json "--benchmark_filter=$FILTER"
            "--benchmark_repetitions=$REPS")
if (( REPS > 1 )); then
  BENCH_ARGS+=(--benchmark_enable_random_interleaving=true)
fi

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "running stream_bench ($REPS repetitions)..." >&2
"$BUILD/bench/stream_bench" "${BENCH_ARGS[@]}" >"$BUILD/stream_bench.json"
echo "running rsa_bench ($REPS repetitions)..." >&2
"$BUILD/bench/rsa_bench" "${BENCH_ARGS[@]}" >"$BUILD/rsa_bench.json"
echo "running openssl speed -seconds 3 rsa2048..." >&2
openssl speed -seconds 3 rsa2048 >"$BUILD/openssl_speed_rsa2048.txt" 2>/dev/null
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

export BUILD LOAD_BEFORE LOAD_AFTER
python3 - <<'PY' | tee "$BUILD/summary.md"
import json, os, re, statistics, subprocess

build = os.environ["BUILD"]
K = "bytes_per_second"
SIZES = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20]
SEGS = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20]


def load(name):
    with open(os.path.join(build, name)) as f:
        return json.load(f)


def key(run_name):
    """'BM_X/size:4096/min_time:0.200' -> 'BM_X/size:4096'."""
    parts = run_name.split("/")
    return "/".join([parts[0]] + [p for p in parts[1:] if ":" in p and
                                  not p.startswith("min_time:")])


def runs(doc):
    """{key: [row per repetition]} from the iteration rows."""
    out = {}
    for b in doc["benchmarks"]:
        if (b.get("run_type", "iteration") != "iteration" or
                b.get("error_occurred")):
            continue
        out.setdefault(key(b["run_name"]), []).append(b)
    return out


def med(rows, field=K):
    return statistics.median(r[field] for r in rows) if rows else None


def best(rows, field=K):
    return max(r[field] for r in rows) if rows else None


def div(a, b):
    return a / b if a is not None and b else None


def gbs(v):
    return "–" if v is None else f"{v / 1e9:.2f}"


def pct(v):
    return "–" if v is None else f"{100 * v:.0f}%"


def ratio_range(num, den, field=K):
    """min–max of per-repetition ratios (repetition i against repetition i)."""
    d = {r.get("repetition_index", 0): r[field] for r in den}
    rs = [r[field] / d[r.get("repetition_index", 0)] for r in num
          if r.get("repetition_index", 0) in d]
    return f"{100 * min(rs):.0f}–{100 * max(rs):.0f}%" if rs else "–"


def size_name(n):
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


sd = load("stream_bench.json")
s = runs(sd)
r = runs(load("rsa_bench.json"))
reps = max((len(v) for v in s.values()), default=0)


def row(prefix, size, seg=None):
    name = f"{prefix}/size:{size}"
    if seg is not None:
        name += f"/segment:{seg}"
    return s.get(name, [])


cpu = "unknown"
with open("/proc/cpuinfo") as f:
    cpuinfo = f.read()
m = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
if m:
    cpu = m.group(1).strip()
aes = re.search(r"\baes\b", cpuinfo) is not None
ossl = subprocess.run(["openssl", "version"], capture_output=True,
                      text=True).stdout.strip()
seg_default = int(sd["context"].get("default_segment_size", "0"))

print("## Benchmark summary\n")
print(f"- machine: {os.cpu_count()} CPUs, `{cpu}`, AES-NI "
      f"{'yes' if aes else 'no'}; {ossl}")
print(f"- load average before/after: {os.environ['LOAD_BEFORE']} / "
      f"{os.environ['LOAD_AFTER']}")
print(f"- {reps} repetitions, randomly interleaved; figures are medians; "
      "GB/s = 10^9 bytes/s of plaintext; CPU time (as `openssl speed`)\n")

print(f"### Streaming vs single-shot AES-256-GCM (default segment "
      f"{seg_default >> 10} KiB)\n")
print("Ratio = stream / single-shot throughput. *median*: ratio of the "
      "medians; *best*: ratio of the best repetitions (least disturbed by "
      "other load); *range*: spread of the per-repetition ratios.\n")
below = []
for op, ss_name, st_name in (
        ("encrypt", "BM_SingleShotGcmEncrypt", "BM_StreamEncrypt"),
        ("decrypt", "BM_SingleShotGcmDecrypt", "BM_StreamDecrypt")):
    print(f"| {op} | single-shot GB/s | stream GB/s | ratio median | "
          "ratio best | ratio range | >= 90%? |")
    print("|---|---|---|---|---|---|---|")
    for n in SIZES:
        ss, st = row(ss_name, n), row(st_name, n)
        rm, rb = div(med(st), med(ss)), div(best(st), best(ss))
        if n < 1 << 20:
            verdict = "(not a target)"
        elif rm is not None and rm >= 0.9:
            verdict = "yes"
        else:
            verdict = "**no**"
            below.append(f"{op} {size_name(n)}")
        print(f"| {size_name(n)} | {gbs(med(ss))} | {gbs(med(st))} | "
              f"{pct(rm)} | {pct(rb)} | {ratio_range(st, ss)} | {verdict} |")
    print()
print("Target (streaming >= 90% of single-shot at 1 MiB and above, ratio of "
      "medians): " +
      ("met." if not below else "NOT met for " + ", ".join(below) + "."))
print()

print("### Segment-size sweep (16 MiB object)\n")
print("Ratios against the single-shot 16 MiB medians above.\n")
print("| segment | stream enc GB/s | vs single-shot | stream dec GB/s | "
      "vs single-shot |")
print("|---|---|---|---|---|")
base_e = med(row("BM_SingleShotGcmEncrypt", 16 << 20))
base_d = med(row("BM_SingleShotGcmDecrypt", 16 << 20))
for g in SEGS:
    e = med(row("BM_StreamEncryptSegment", 16 << 20, g))
    d = med(row("BM_StreamDecryptSegment", 16 << 20, g))
    print(f"| {size_name(g)} | {gbs(e)} | {pct(div(e, base_e))} | {gbs(d)} | "
          f"{pct(div(d, base_d))} |")
print()

sign = verify = None
with open(os.path.join(build, "openssl_speed_rsa2048.txt")) as f:
    for line in f:
        m = re.match(r"\s*rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)",
                     line)
        if m:
            sign, verify = float(m.group(1)), float(m.group(2))


def ops(v):
    return "–" if v is None else f"{v:,.0f}"


print("### RSA-2048 key wrap of a 32-byte key vs `openssl speed -seconds 3 "
      "rsa2048`\n")
print("| padding | wrap /s | openssl verify /s | wrap / verify | unwrap /s | "
      "openssl sign /s | unwrap / sign |")
print("|---|---|---|---|---|---|---|")
# Rows are told apart by their label, RsaPaddingName() (crypto/rsa.h).
by_label = {}
for name, rows in r.items():
    by_label[(name.split("/")[0], rows[0].get("label", ""))] = rows
for label in ("RSA-OAEP-256", "RSA-OAEP"):
    w = med(by_label.get(("BM_RsaWrap", label), []), "items_per_second")
    u = med(by_label.get(("BM_RsaUnwrap", label), []), "items_per_second")
    print(f"| {label} | {ops(w)} | {ops(verify)} | {pct(div(w, verify))} | "
          f"{ops(u)} | {ops(sign)} | {pct(div(u, sign))} |")
PY
