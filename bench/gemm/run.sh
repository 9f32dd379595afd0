#!/usr/bin/env bash
# SGEMM GFLOP/s: kernel.Sgemm (main.go) vs numpy on OpenBLAS
# (numpy_gemm.py), on square sizes and training shapes, at 1 and 2 threads,
# beside one core's measured fp32 FMA peak. Installs the peers if missing
# and prints a markdown table. Run it on an idle machine.
#
#   bench/gemm/run.sh           print the table
#   bench/gemm/run.sh --write   also write it to bench/gemm/RESULTS.md
#
# Environment (defaults in brackets):
#   THREADS ["1 2"]     thread counts
#   SHAPES [all]        e.g. sq256,fc1_fwd (names in main.go)
#   MINTIME [0.3]       seconds per repetition
#   ROUNDS [5]          rounds; each runs Go then numpy at every thread count,
#                       so a slow phase of the VM hits both (best round kept)
#   REPS [2]            repetitions per measurement in a round, the best kept
#   PEAKTIME [1]        seconds spent measuring the FMA peak
#   (SHAPES=sq256,fc1_fwd MINTIME=0.02 ROUNDS=1 REPS=1 PEAKTIME=0.1 for a smoke test)
#   KEEP_CORETYPE=1     keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for numpy (see ../peers.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../peers.sh"
parse_args "$0" "$@" # sets write (--write) and root

THREADS=${THREADS:-1 2}
SHAPES=${SHAPES:-}
MINTIME=${MINTIME:-0.3}
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-2}
PEAKTIME=${PEAKTIME:-1}

install_peers python3-numpy python3-threadpoolctl libopenblas0-openmp
ensure_openblas
# numpy runs under each OpenMP wait policy of peer_policies (../peers.sh);
# the faster product counts, as for every repetition.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/gemm-go" ./bench/gemm)

load_before=$(cat /proc/loadavg)
echo "load before: $load_before" >&2
out=$tmp/results.jsonl
for round in $(seq "$ROUNDS"); do
	echo "round $round of $ROUNDS" >&2
	for t in $THREADS; do
		"$tmp/gemm-go" -threads "$t" -shapes "$SHAPES" -mintime "${MINTIME}s" -reps "$REPS" -peaktime "${PEAKTIME}s" |
			sed "s/^{/{\"round\":$round,/" | tee -a "$out" >&2
		for pol in $(peer_policies "$t"); do
			peer_env OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" OMP_WAIT_POLICY="$pol" \
				"$PY" "$here/numpy_gemm.py" -threads "$t" -shapes "$SHAPES" -mintime "$MINTIME" -reps "$REPS" |
				sed "s/^{/{\"round\":$round,/" | tee -a "$out" >&2
		done
	done
done
load_after=$(cat /proc/loadavg)
echo "load after: $load_after" >&2

table=$("$PY" - "$out" "$load_before" "$load_after" "$REPS" "$MINTIME" "$ROUNDS" "$PEER_WAIT_POLICIES" <<'EOF'
import datetime, json, statistics, subprocess, sys

path, load_before, load_after, reps, mintime, rounds, policies = sys.argv[1:8]
policies = policies.split()
runs = [json.loads(l) for l in open(path) if l.strip()]

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

peak = max((r["fma_peak_gflops"] for r in runs if "fma_peak_gflops" in r), default=0.0)
gemm = next((r["gemm"] for r in runs if "gemm" in r), "?")
kernels = next((r.get("kernels", "?") for r in runs if "gemm" in r), "?")
lanes = next((r.get("fma_peak_lanes", 8) for r in runs if "fma_peak_gflops" in r), 8)
chains = 12 if lanes == 16 else 10
np_info = next((r["blas"] for r in runs if r["impl"] == "numpy" and "blas" in r), {})
tpc = (np_info.get("threadpoolctl") or [{}])[0]
# The best of the rounds: the fastest product and, separately, the best
# repetition's mean.
got = {}
for r in runs:
    if "shape" not in r:
        continue
    key = (r["impl"], r["shape"], r["threads"])
    if key not in got:
        got[key] = dict(r)
        continue
    g = got[key]
    g["gflops"] = max(g["gflops"], r["gflops"])
    if r.get("gflops_mean"):
        g["gflops_mean"] = max(g.get("gflops_mean") or 0, r["gflops_mean"])
# Per round, each side's fastest product (numpy's over its wait
# policies too), and the median over the rounds of their ratios: a drift
# of the VM between rounds falls on both sides of a ratio.
per_round = {}
for r in runs:
    if "shape" not in r:
        continue
    key = (r["impl"], r["shape"], r["threads"], r["round"])
    per_round[key] = max(per_round.get(key, 0.0), r["gflops"])

def paired(shape, t):
    rs = sorted({k[3] for k in per_round if k[1:3] == (shape, t)})
    ratios = [per_round[("go", shape, t, x)] / per_round[("numpy", shape, t, x)]
              for x in rs if ("go", shape, t, x) in per_round and ("numpy", shape, t, x) in per_round]
    return statistics.median(ratios) if ratios else None, ratios

keys = []
for r in runs:
    if r["impl"] == "go" and "shape" in r and (r["shape"], r["threads"]) not in keys:
        keys.append((r["shape"], r["threads"]))
order = list(dict.fromkeys(k[0] for k in keys))
keys.sort(key=lambda k: (order.index(k[0]), k[1]))
cpu = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1")

print(f"SGEMM GFLOP/s (2·m·n·k flops per product): the fastest single product over {rounds} rounds × {reps} repetitions of at least {mintime} s each, and (sustained) the best repetition's mean. "
      "Each round runs Go then numpy at every thread count, so a slow phase of this VM falls on both.")
print()
print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
print(f"- CPU: {cpu}; "
      f"load average before: {load_before}; after: {load_after}")
print(f"- Go: {sh('go version')}; kernels (MRL_KERNEL): {kernels}; GEMM: {gemm}; 1-thread fp32 FMA peak (measured with the widest vectors the CPU runs: best burst of {chains} independent {lanes}-wide FMA chains): {peak:.1f} GFLOP/s")
print(f"- numpy {np_info.get('numpy', '?')}: OpenBLAS {tpc.get('version', '?')} {tpc.get('threading_layer', '')}, "
      f"core kernel {tpc.get('architecture', '?')} ({tpc.get('filepath') or ', '.join(np_info.get('paths', []))}); "
      f"OPENBLAS_CORETYPE={np_info.get('OPENBLAS_CORETYPE')}; OMP_WAIT_POLICY: {policies[0] if policies else '?'}"
      + (f", and at 2+ threads also {', '.join(policies[1:])} (the faster product counts; our kernels' pooled workers spin for up to 200 µs between regions)" if len(policies) > 1 else ""))
print()
print("| shape | m×n×k (transA, transB) | threads | Go GFLOP/s | % of 1-thread FMA peak | numpy/OpenBLAS GFLOP/s | ratio Go/numpy | rounds' ratios: median (each) | sustained Go | sustained numpy | ratio |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for shape, t in keys:
    g = got[("go", shape, t)]
    n = got.get(("numpy", shape, t))
    tr = f"{'T' if g['ta'] else 'F'}, {'T' if g['tb'] else 'F'}"
    pct = f"{100 * g['gflops'] / peak:.0f}%" if peak else "n/a"
    ng = f"{n['gflops']:.1f}" if n else "n/a"
    ratio = f"{g['gflops'] / n['gflops']:.2f}" if n else "n/a"
    gm, nm = g.get("gflops_mean"), (n or {}).get("gflops_mean")
    sm = f"{gm:.1f}" if gm else "n/a"
    snm = f"{nm:.1f}" if nm else "n/a"
    sratio = f"{gm / nm:.2f}" if gm and nm else "n/a"
    med, each = paired(shape, t)
    pr = f"{med:.2f} ({', '.join(f'{x:.2f}' for x in each)})" if med else "n/a"
    print(f"| {shape} | {g['m']}×{g['n']}×{g['k']} ({tr}) | {t} | {g['gflops']:.1f} | {pct} | {ng} | {ratio} | {pr} | {sm} | {snm} | {sratio} |")
print()
print("The percentage is of one core's peak at every thread count, so 2 threads can reach 200%. "
      "The rounds' ratios pair each round's fastest Go product with numpy's fastest in the same round (over its wait policies too).")
EOF
)
echo "$table"
if [ "$write" = 1 ]; then
	{
		echo "# SGEMM: kernel.Sgemm vs numpy on OpenBLAS"
		echo
		echo "Written by \`bench/gemm/run.sh --write\`."
		echo
		echo "$table"
	} >"$here/RESULTS.md"
	echo "wrote $here/RESULTS.md" >&2
fi
