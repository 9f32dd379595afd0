#!/usr/bin/env bash
# Exact scan (issue 3): index.Flat (main.go) vs FAISS IndexFlatIP on
# OpenBLAS (faiss_scan.py) on synthetic Matryoshka-like vectors, one query
# at a time against the memory bandwidth measured in the same Go program,
# and batched at 1 and 2 threads. Installs the peers if missing; for each
# size it generates the data in Go, writes it as NPY to a temp dir, runs
# FAISS on the same files, checks FAISS's top-10 against ours, and deletes
# the files before the next size (one dataset in memory at a time). Prints
# a markdown table; run it on an idle machine.
#
#   bench/scan/run.sh           print the table
#   bench/scan/run.sh --write   also write it to bench/scan/RESULTS.md
#
# Environment (defaults in brackets):
#   SIZES [1000000x16,1000000x32,1000000x64,1000000x128,1000000x256,200000x2048,1000000x128:cosine]
#   THREADS ["1 2"]       thread counts of the batched scans (both sides)
#   NQ [1000]             batched queries (a quarter of it at D >= 1024)
#   SINGLE_TIME [2]       seconds per repetition of the single-query loops
#   REPS [3]              repetitions of the single-query loops, best kept
#   BATCH_REPS [2]        repetitions of the batched searches, best kept
#   BW_BYTES [1073741824] bandwidth buffer (much larger than the L3)
#   KEEP_CORETYPE=1       keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for FAISS (see ../peers.sh)
# Smoke test (numbers meaningless: the data fits in the cache):
#   SIZES=20000x64,20000x128:cosine,5000x2048 SINGLE_TIME=0.2 REPS=1 BATCH_REPS=1 BW_BYTES=268435456 bench/scan/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../peers.sh"
parse_args "$0" "$@" # sets write (--write) and root

SIZES=${SIZES:-1000000x16,1000000x32,1000000x64,1000000x128,1000000x256,200000x2048,1000000x128:cosine}
THREADS=${THREADS:-1 2}
NQ=${NQ:-1000}
SINGLE_TIME=${SINGLE_TIME:-2}
REPS=${REPS:-3}
BATCH_REPS=${BATCH_REPS:-2}
BW_BYTES=${BW_BYTES:-1073741824}
threads_csv=$(echo $THREADS | tr ' ' ',')
maxt=$(echo $THREADS | tr ' ' '\n' | sort -n | tail -1)

install_peers python3-faiss python3-numpy python3-threadpoolctl libopenblas0-openmp
ensure_openblas
"$PY" -c 'import faiss, numpy' || { echo "bench/scan: python3-faiss does not import with $PY" >&2; exit 1; }
export OMP_WAIT_POLICY=PASSIVE # spinning OpenMP workers wreck 2-thread runs next to any other load
export GOMEMLIMIT=${GOMEMLIMIT:-6GiB}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/scan-go" ./bench/scan)

echo "bench/scan: sizes $SIZES; threads $THREADS; $NQ batched queries; single-query loops ${REPS}x${SINGLE_TIME}s" >&2
echo "bench/scan: expect roughly 1-2 minutes per 1M-row size on both sides (~15 min for the defaults)" >&2
load_before=$(cat /proc/loadavg)
echo "load before: $load_before" >&2
out=$tmp/results.jsonl
info=--info
IFS=, read -ra sizes <<<"$SIZES"
for s in "${sizes[@]}"; do
	echo "bench/scan: $s ($(date -u +%H:%M:%S))" >&2
	"$tmp/scan-go" -sizes "$s" -threads "$threads_csv" -nq "$NQ" -single-time "${SINGLE_TIME}s" -reps "$REPS" \
		-batch-reps "$BATCH_REPS" -bw-bytes "$BW_BYTES" -dir "$tmp/data" | tee -a "$out" >&2
	dir=$(ls -d "$tmp"/data/*)
	peer_env OMP_NUM_THREADS="$maxt" OPENBLAS_NUM_THREADS="$maxt" \
		"$PY" "$here/faiss_scan.py" "$dir" -threads "$threads_csv" -single-time "$SINGLE_TIME" -reps "$REPS" \
		-batch-reps "$BATCH_REPS" $info | tee -a "$out" >&2
	info=
	rm -rf "$tmp/data"
done
load_after=$(cat /proc/loadavg)
echo "load after: $load_after" >&2

table=$("$PY" - "$out" "$load_before" "$load_after" <<'EOF'
import datetime, json, subprocess, sys

path, load_before, load_after = sys.argv[1:4]
runs = [json.loads(l) for l in open(path) if l.strip()]

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

cpu = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1")
bws = [r for r in runs if "bw_gbs_1" in r]
go = bws[0] if bws else {}
fi = next((r["blas"] for r in runs if "blas" in r), {})
tpc = [d for d in (fi.get("threadpoolctl") or []) if d.get("internal_api") == "openblas"]
ob = tpc[0] if tpc else {}
blas_paths = [p for p in fi.get("paths", []) if "blas" in p]

def key(r):
    return (r["n"], r["d"], r["metric"])

sizes = list(dict.fromkeys(key(r) for r in runs if r.get("impl") == "go" and "mode" in r))
get = {}
for r in runs:
    if "mode" in r:
        get[(r["impl"], r["mode"], key(r), r.get("threads") if r["mode"] in ("batch", "batch_int8") else None)] = r
threads = sorted({r["threads"] for r in runs if r.get("mode") == "batch"})

print("Exact scan, k = 10: ours (index.Flat) vs FAISS IndexFlatIP, on the same synthetic vectors")
print()
print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
print(f"- CPU: {cpu}; load average before: {load_before}; after: {load_after}")
print(f"- Go: {go.get('go', '?')}; kernels (MRL_KERNEL): {go.get('kernels', '?')}; GEMM: {go.get('gemm', '?')}; GOMAXPROCS {go.get('gomaxprocs', '?')}")
print(f"- streaming-read bandwidth measured by the Go program (kernel.Dot over {go.get('bw_bytes', 0) / 2**30:.2f} GiB, best pass), "
      "per size run: " + ", ".join(f"{r['bw_gbs_1']:.1f}" for r in bws) + " GB/s on 1 thread; "
      + ", ".join(f"{r['bw_gbs_2']:.1f}" for r in bws) + " GB/s on 2")
rss = [r["peak_rss_mib"] for r in runs if "peak_rss_mib" in r]
if rss:
    print(f"- peak resident memory of the Go program, per size run: {', '.join(f'{x:.0f}' for x in rss)} MiB")
print(f"- FAISS {fi.get('faiss', '?')}: BLAS loaded {', '.join(blas_paths) or 'none found'}; "
      f"OpenBLAS {ob.get('version', '?')} {ob.get('threading_layer', '')}, core {ob.get('architecture', '?')}; "
      f"OPENBLAS_CORETYPE={fi.get('OPENBLAS_CORETYPE')}; OMP_WAIT_POLICY=PASSIVE")
print("- data: indextest.MatryoshkaLike (16 Gaussian clusters, dim j scaled by 1/sqrt(1+j)), seeded; queries drawn in the same call. "
      "Cosine rows: ours ranks by x·q/‖x‖ with cached norms; FAISS searches L2-normalised copies (normalised before timing).")
print()
print("One query at a time (1 thread; GB/s counts N·d·4 bytes per query, best of the query loops; bandwidth: "
      "kernel.Dot passes over the same rows, alternating with the queries, best loop; % of bandwidth: the median over the "
      "loops of the queries' GB/s over the passes' GB/s in the same loop; in brackets the best query loop over the best "
      "pass loop, the measure used until 2026-12-02, when passes and queries ran in separate loops)")
print()
print("| N × d | metric | ours QPS | ours GB/s | bandwidth of the rows GB/s | % of bandwidth | allocs/query | FAISS QPS | FAISS GB/s | ours/FAISS | FAISS recall@10 vs ours |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for s in sizes:
    g = get.get(("go", "single", s, None))
    f = get.get(("faiss", "single", s, None))
    if not g:
        continue
    fq = f"{f['qps']:.1f}" if f else "n/a"
    fg = f"{f['gbs']:.1f}" if f else "n/a"
    ratio = f"{g['qps'] / f['qps']:.2f}" if f else "n/a"
    rc = f"{f['recall_vs_ours']:.4f}" if f else "n/a"
    print(f"| {s[0]} × {s[1]} | {s[2]} | {g['qps']:.1f} | {g['gbs']:.1f} | {g['bw_rows_gbs']:.1f} | {g['pct_bw']:.0f}% ({g.get('pct_bw_best', float('nan')):.0f}%) | {g['allocs_per_query']:.0f} | {fq} | {fg} | {ratio} | {rc} |")
print()
print("Batched (SearchBatch vs index.search on all queries at once; threads set equal on both sides)")
print()
print("| N × d | metric | queries | threads | ours QPS | ours GFLOP/s | FAISS QPS | FAISS GFLOP/s | ours/FAISS | FAISS recall@10 vs ours |")
print("|---|---|---|---|---|---|---|---|---|---|")
for s in sizes:
    for t in threads:
        g = get.get(("go", "batch", s, t))
        f = get.get(("faiss", "batch", s, t))
        if not g:
            continue
        fq = f"{f['qps']:.1f}" if f else "n/a"
        fg = f"{f['gflops']:.1f}" if f else "n/a"
        ratio = f"{g['qps'] / f['qps']:.2f}" if f else "n/a"
        rc = f"{f['recall_vs_ours']:.4f}" if f else "n/a"
        print(f"| {s[0]} × {s[1]} | {s[2]} | {g['nq']} | {t} | {g['qps']:.1f} | {g['gflops']:.1f} | {fq} | {fg} | {ratio} | {rc} |")
if any(r.get("mode") == "batch_int8" for r in runs):
    print()
    print("Batched with the int8 filter (`index.FlatOptions.Int8Filter`, AVX512-VNNI: int8 codes score an upper bound of every row, "
          "only the rows that could enter a query's top k are scored in float32; results are the float scan's). Timed alternately "
          "with the float scan above in the same process; GFLOP/s counts 2·N·d per query as above. Coding: coding the rows and the "
          "first query (which caches the rows' shifts at the dim); memory: codes + cached shifts.")
    print()
    print("| N × d | metric | queries | threads | int8 filter QPS | GFLOP/s (float-equivalent) | vs our float scan | FAISS QPS | int8 filter/FAISS | top-k agreement with the float scan | coding s | filter MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in sizes:
        for t in threads:
            g = get.get(("go", "batch_int8", s, t))
            b = get.get(("go", "batch", s, t))
            f = get.get(("faiss", "batch", s, t))
            if not g:
                continue
            fq = f"{f['qps']:.1f}" if f else "n/a"
            ratio = f"{g['qps'] / f['qps']:.2f}" if f else "n/a"
            vs = f"{g['qps'] / b['qps']:.2f}" if b else "n/a"
            print(f"| {s[0]} × {s[1]} | {s[2]} | {g['nq']} | {t} | {g['qps']:.1f} | {g['gflops']:.1f} | {vs} | {fq} | {ratio} | {g['vs_float_recall']:.4f} | {g['code_s']:.2f} | {g['code_mib']:.0f} |")
print()
print("Targets (issue 3): single query >= 90% of the measured bandwidth, 0 allocations per query; batched >= 1.0x FAISS at the same N, d and threads. "
      "Recall below 1 can only come from ties or float rounding at the 10th place.")
EOF
)
echo "$table"
if [ "$write" = 1 ]; then
	{
		echo "# Exact scan: index.Flat vs FAISS IndexFlatIP"
		echo
		echo "Written by \`bench/scan/run.sh --write\`."
		echo
		echo "$table"
	} >"$here/RESULTS.md"
	echo "wrote $here/RESULTS.md" >&2
fi
