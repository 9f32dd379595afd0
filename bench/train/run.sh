#!/usr/bin/env bash
# Training throughput, our engine vs PyTorch on OpenBLAS, on the MLP and
# CNN of main.go, at 1 and 2 threads: installs the peers if missing, runs
# both programs alternately REPS times with the same steps, and prints a
# markdown table of the median samples/s. Run it on an idle machine: on a
# busy one the 2-thread figures of both sides collapse.
#
#   bench/train/run.sh           print the table
#   bench/train/run.sh --write   also write it to bench/train/RESULTS.md
#
# Environment (defaults in brackets):
#   MODELS ["mlp cnn"]  THREADS ["1 2"]  REPS [3]  BATCH [256]
#   KERNELS [every level from avx2 up that this CPU runs]  our kernel levels
#                       (MRL_KERNEL), each run in turn before PyTorch
#   MLP_STEPS [30] MLP_WARMUP [5]  CNN_STEPS [12] CNN_WARMUP [3]
#   STEPS, WARMUP       override both models' values (STEPS=2 WARMUP=1 for a smoke test)
#   KEEP_CORETYPE=1     keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for PyTorch (see ../peers.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../peers.sh"
parse_args "$0" "$@" # sets write (--write) and root

MODELS=${MODELS:-mlp cnn}
THREADS=${THREADS:-1 2}
REPS=${REPS:-3}
BATCH=${BATCH:-256}

install_peers python3-torch python3-numpy libopenblas0-openmp
ensure_openblas
# PyTorch runs under each OpenMP wait policy of peer_policies
# (../peers.sh); its better median counts.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/train-go" ./bench/train)
KERNELS=${KERNELS:-$("$tmp/train-go" -levels | grep -v '^generic$' | tr '\n' ' ')}
echo "kernel levels: $KERNELS" >&2

load_before=$(cat /proc/loadavg)
echo "load before: $load_before" >&2
out=$tmp/results.jsonl
for model in $MODELS; do
	case $model in
	mlp) steps=${STEPS:-${MLP_STEPS:-30}} warmup=${WARMUP:-${MLP_WARMUP:-5}} ;;
	cnn) steps=${STEPS:-${CNN_STEPS:-12}} warmup=${WARMUP:-${CNN_WARMUP:-3}} ;;
	*) echo "unknown model $model" >&2; exit 2 ;;
	esac
	for t in $THREADS; do
		for ((r = 1; r <= REPS; r++)); do
			args=(-model "$model" -threads "$t" -batch "$BATCH" -steps "$steps" -warmup "$warmup")
			for kl in $KERNELS; do
				MRL_KERNEL=$kl "$tmp/train-go" "${args[@]}" | tee -a "$out" >&2
			done
			for pol in $(peer_policies "$t"); do
				peer_env OMP_NUM_THREADS="$t" OMP_WAIT_POLICY="$pol" "$PY" "$here/torch_train.py" "${args[@]}" | tee -a "$out" >&2
			done
		done
	done
done
load_after=$(cat /proc/loadavg)
echo "load after: $load_after" >&2

table=$("$PY" - "$out" "$load_before" "$load_after" "$REPS" <<'EOF'
import json, statistics, subprocess, sys, datetime

path, load_before, load_after, reps = sys.argv[1:5]
runs = [json.loads(l) for l in open(path) if l.strip()]

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"

cpu = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1")
gov = sh("go version")
torch = next((r for r in runs if r["impl"] == "pytorch"), {})
blas = torch.get("blas", {})
gemm = ", ".join(dict.fromkeys(f'{r.get("kernels", "?")}: {r["gemm"]}' for r in runs if r["impl"] == "go"))
levels = list(dict.fromkeys(r.get("kernels", "?") for r in runs if r["impl"] == "go"))

keys = []
for r in runs:
    k = (r["model"], r["threads"])
    if k not in keys:
        keys.append(k)
# Each round runs every Go level and then the peer, so the k-th run of a
# (model, threads, impl, level, policy) is round k's; the ratios are the
# medians of the rounds' ratios, paired within a round (a slow phase of
# the VM falls on both sides of a pair).
seen = {}
for r in runs:
    k = (r["impl"], r["model"], r["threads"], r.get("kernels"), r.get("omp_wait_policy"))
    r["round"] = seen.get(k, 0)
    seen[k] = r["round"] + 1

def paired(model, t, a, b):
    """Median over rounds of a's samples/s over b's; a and b select runs."""
    xs = {r["round"]: r["samples_per_sec"] for r in runs if r["model"] == model and r["threads"] == t and a(r)}
    ys = {r["round"]: r["samples_per_sec"] for r in runs if r["model"] == model and r["threads"] == t and b(r)}
    rs = [xs[i] / ys[i] for i in xs if i in ys]
    return statistics.median(rs) if rs else float("nan")

print(f"Training throughput, batch {runs[0]['batch']}, samples/s (median of {reps} alternating runs; "
      "random inputs, SGD momentum 0.9, wd 5e-4); ratios: median of the rounds' paired ratios")
print()
print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
print(f"- CPU: {cpu}; load average before: {load_before}; after: {load_after}")
print(f"- Go: {gov}; kernels (MRL_KERNEL) and GEMM: {gemm}")
policies = list(dict.fromkeys(r.get("omp_wait_policy", "") for r in runs if r["impl"] == "pytorch"))
print(f"- PyTorch: {torch.get('torch', '?')}; BLAS: {blas.get('openblas_config', '?')} "
      f"(core {blas.get('openblas_core', '?')}; {', '.join(blas.get('paths', []))}); "
      f"OMP_WAIT_POLICY: {' and '.join(policies)} (at 2+ threads the better median of the policies counts; "
      "our kernels' pooled workers spin for up to 200 µs between regions)")
print()
best = levels[-1]
head = "| model | threads | steps (warm-up) | " + " | ".join(f"Go {l} samples/s" for l in levels) + " | PyTorch samples/s (wait policy) | ratio Go " + best + "/PyTorch |"
if len(levels) > 1:
    head += f" ratio {levels[-1]}/{levels[0]} |"
print(head)
print("|---" * (head.count("|") - 1) + "|")
for model, t in keys:
    med = {}
    for lv in levels:
        xs = [r["samples_per_sec"] for r in runs if r["impl"] == "go" and r["model"] == model and r["threads"] == t
              and r.get("kernels", "?") == lv]
        med[lv] = statistics.median(xs) if xs else float("nan")
    # The peer's better policy: the larger median.
    med["pytorch"], pol = float("nan"), "?"
    for p in policies:
        xs = [r["samples_per_sec"] for r in runs if r["impl"] == "pytorch" and r["model"] == model and r["threads"] == t
              and r.get("omp_wait_policy", "") == p]
        if xs and not statistics.median(xs) <= med["pytorch"]:
            med["pytorch"], pol = statistics.median(xs), p
    r0 = next(r for r in runs if r["model"] == model and r["threads"] == t)
    row = f"| {model} | {t} | {r0['steps']} ({r0['warmup']}) | " + " | ".join(f"{med[l]:,.0f}" for l in levels)
    go_at = lambda lv: (lambda r: r["impl"] == "go" and r.get("kernels", "?") == lv)
    peer = lambda r: r["impl"] == "pytorch" and r.get("omp_wait_policy", "") == pol
    row += f" | {med['pytorch']:,.0f} ({pol}) | {paired(model, t, go_at(best), peer):.2f} |"
    if len(levels) > 1:
        row += f" {paired(model, t, go_at(levels[-1]), go_at(levels[0])):.2f} |"
    print(row)
EOF
)
echo "$table"
if [ "$write" = 1 ]; then
	{
		echo "# Training throughput: Go engine vs PyTorch"
		echo
		echo "Written by \`bench/train/run.sh --write\`."
		echo
		echo "$table"
	} >"$here/RESULTS.md"
	echo "wrote $here/RESULTS.md" >&2
fi
