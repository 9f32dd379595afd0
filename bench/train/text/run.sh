#!/usr/bin/env bash
# Text encoder training throughput, our engine vs PyTorch, at 1 and 2
# threads, and `mrl embed`-style inference throughput (texts/s): installs
# the peers if missing, tokenises a synthetic corpus once (main.go -gen; the
# tokenisation is excluded from both training figures), runs both programs
# alternately REPS times on the same batches and prints a markdown table of
# the median samples/s (a sample is one query-document pair). Run it on an
# idle machine.
#
#   bench/train/text/run.sh           print the table
#   bench/train/text/run.sh --write   also write it to bench/train/text/RESULTS.md
#
# Environment (defaults in brackets):
#   THREADS ["1 2"]  REPS [3]  BATCH [256]  BATCHES [8]  STEPS [20]  WARMUP [3]
#   BUCKETS [131072]  BAG_DIM [256]  HIDDEN [""] (comma-separated MLP widths)
#   EMBED [512] (nesting 8..EMBED)  EMBED_TEXTS [20000]
#   Smoke test: BUCKETS=4096 BAG_DIM=32 EMBED=64 BATCH=32 BATCHES=2 STEPS=2 WARMUP=1 REPS=1 EMBED_TEXTS=200
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../peers.sh"
parse_args "$0" "$@"
root=$(cd "$here/../../.." && pwd)

THREADS=${THREADS:-1 2}
REPS=${REPS:-3}

install_peers python3-torch python3-numpy libopenblas0-openmp
ensure_openblas
export OMP_WAIT_POLICY=PASSIVE

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/text-go" ./bench/train/text)
"$tmp/text-go" -gen "$tmp/batches" -buckets "${BUCKETS:-131072}" -bag-dim "${BAG_DIM:-256}" -hidden "${HIDDEN:-}" \
	-embed-dim "${EMBED:-512}" -batch "${BATCH:-256}" -batches "${BATCHES:-8}"
echo "batches: $(cat "$tmp/batches/meta.json" | tr -d '\n ')" >&2

load_before=$(cat /proc/loadavg)
out=$tmp/results.jsonl
for t in $THREADS; do
	for ((r = 1; r <= REPS; r++)); do
		args=(-run "$tmp/batches" -threads "$t" -steps "${STEPS:-20}" -warmup "${WARMUP:-3}")
		"$tmp/text-go" "${args[@]}" | tee -a "$out" >&2
		peer_env OMP_NUM_THREADS="$t" "$PY" "$here/torch_text.py" "${args[@]}" | tee -a "$out" >&2
		peer_env OMP_NUM_THREADS="$t" "$PY" "$here/torch_text.py" "${args[@]}" -dense | tee -a "$out" >&2
	done
	"$tmp/text-go" -embed "$tmp/batches" -threads "$t" -texts "${EMBED_TEXTS:-20000}" | tee -a "$out" >&2
done
load_after=$(cat /proc/loadavg)

table=$("$PY" - "$out" "$load_before" "$load_after" "$REPS" "$tmp/batches/meta.json" <<'PYEOF'
import json, statistics, subprocess, sys, datetime

path, lb, la, reps, meta = sys.argv[1:6]
runs = [json.loads(l) for l in open(path) if l.strip()]
meta = json.load(open(meta))
cpu = subprocess.run("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1", shell=True, capture_output=True, text=True).stdout.strip()
torch = next((r for r in runs if r["impl"] == "pytorch"), {})
go = next((r for r in runs if r.get("model") == "text" and r["impl"] == "go"), {})
print(f"Text encoder training, samples (query-document pairs) per second, median of {reps} alternating runs; "
      f"tokenisation excluded (both read the same tokenised batches)")
print()
print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; CPU: {cpu}")
print(f"- load average before: {lb}; after: {la}")
print(f"- model: buckets {meta['buckets']}, bag {meta['bag_dim']}, hidden {meta['hidden']}, D {meta['embed']}, "
      f"nesting {meta['nesting'][0]}..{meta['nesting'][-1]}, batch {meta['batch']}, {go.get('ids_per_sample', 0):.0f} ids per pair; "
      f"loss: sum over dims of InfoNCE at tau {meta['tau']}; AdamW + lazy/Sparse Adam, lr {meta['lr']}")
print(f"- Go kernels: {go.get('kernels', '?')}; PyTorch {torch.get('torch', '?')}")
print()
print("PyTorch runs twice per repetition: the bag with a sparse gradient and SparseAdam, and with a dense gradient and AdamW; the ratio is against the faster of the two.")
print()
print("| threads | Go samples/s | PyTorch sparse samples/s | PyTorch dense samples/s | ratio Go/best PyTorch | Go embed texts/s |")
print("|---|---|---|---|---|---|")
for t in sorted({r["threads"] for r in runs}):
    def med(pred):
        xs = [r["samples_per_sec"] for r in runs if r.get("model") == "text" and r["threads"] == t and pred(r)]
        return statistics.median(xs) if xs else float("nan")
    go_ = med(lambda r: r["impl"] == "go")
    sp = med(lambda r: r["impl"] == "pytorch" and r.get("variant", "sparse") == "sparse")
    de = med(lambda r: r["impl"] == "pytorch" and r.get("variant") == "dense")
    best = max(x for x in (sp, de) if x == x) if (sp == sp or de == de) else float("nan")
    emb = [r["texts_per_sec"] for r in runs if r.get("what") == "embed" and r["threads"] == t]
    print(f"| {t} | {go_:,.0f} | {sp:,.0f} | {de:,.0f} | {go_ / best:.2f} | {statistics.median(emb) if emb else float('nan'):,.0f} |")
PYEOF
)
echo "$table"
if [ "$write" = 1 ]; then
	{
		echo "# Text encoder training throughput: Go engine vs PyTorch"
		echo
		echo "Written by \`bench/train/text/run.sh --write\`."
		echo
		echo "$table"
	} >"$here/RESULTS.md"
	echo "wrote $here/RESULTS.md" >&2
fi
