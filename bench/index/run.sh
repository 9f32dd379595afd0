#!/usr/bin/env bash
# Engine benchmark (issue 5): Flat, funnel plans, the plan tuner, HNSW and
# IVF (main.go) on real MRL embeddings (Fashion-MNIST, and MNIST with
# MNIST_CKPT) and on N synthetic Matryoshka-like rows, against FAISS
# IndexFlatIP (on OpenBLAS) and IndexHNSWFlat (faiss_index.py) and native
# hnswlib (hnswlib/hnswlib_bench.cpp, compiled here with -O3 -march=native) on the
# same vectors. Installs the peers if missing, trains a Fashion-MNIST MRL
# checkpoint if there is none, prints a plan with a time estimate, then
# markdown tables. Run it on an idle machine.
#
#   bench/index/run.sh           print the tables
#   bench/index/run.sh --write   also write them to bench/index/RESULTS.md
#
# Environment (defaults in brackets):
#   N [1000000]  D [256]  NQ [1000]   synthetic rows, dim, queries (N=0: no synthetic set)
#   CKPT [runs/fashion/mrl.ckpt]      Fashion-MNIST checkpoint; trained if missing ("none": no real sets)
#                                     (cnn, embed 512, mrl heads, EPOCHS [2] epochs)
#   MNIST_CKPT [none]                 an MNIST MRL checkpoint to add as a second real set
#                                     (e.g. runs/mnist-mlp/mrl.ckpt: adds ~5-10 min)
#   REAL_N [0] REAL_NQ [0]            first rows / queries of the real sets (0: all)
#   GRAPH_DIM [64] M [16] EFC [100]   HNSW prefix dim, M, efConstruction (all engines)
#   EFS [10,16,24,32,48,64,96,128,192,256]  ef sweep; PROBES [1,2,4,8,16,32] IVF probes
#   PLANS ["16:200,D:10;32:200,D:10;64:100,D:10;8:800,32:100,D:10"]  funnels with a Flat first stage (D: full dim)
#   HNSW_PLANS ["G:50,D:10;G:100,D:10;G:200,D:10;G:400,D:10"]  funnels whose first stage is the HNSW graph (G: graph dim)
#   IVF_LISTS [256]                   IVF lists on the synthetic set (real sets: round(sqrt(N)))
#   MINTIME [1]                       seconds of each single-query QPS measurement (ours, hnswlib: median of 5 equal rounds)
#   PIN_CPU [last CPU]                every engine's single-query loops run on a thread bound to this CPU
#                                     ("-1": unbound; a thread moved to the other core finds its caches cold)
#   THREADS [2]                       threads of batched searches and ground truth; batched Flat runs at 1 and THREADS
#   BUILD_THREADS [2]                 threads of every engine's HNSW build (ours: HNSWOptions.Threads)
#   SKIP_PEERS=1                      only our side
#   SKIP_FAISS_HNSW=1                 no FAISS IndexHNSWFlat (its 1M build takes ~20 min on 2 cores); hnswlib stays
#   HNSW_AB_ROUNDS [5]                every set: then this many rounds of one process of ours and one of hnswlib,
#   HNSW_AB_EFS [64,96,128]           the first engine alternating, each loading the graph the first run saved and
#   HNSW_AB_EFS_REAL [10,16,24]       sweeping these efs (synthetic set; real sets) (0 rounds: none). One process's
#                                     HNSW QPS on this VM varies up to 2x from one process to the next (2026-12-02:
#                                     ours 4,551-8,640, hnswlib 4,363-5,534 at ef 96, 1M rows; Fashion-MNIST at ef 10,
#                                     ours/hnswlib 1.85x at 10:13 and 1.15x at 17:05), so the ratio compares medians
#                                     over processes
#   RAW=FILE                          also keep the raw JSON lines in FILE
#   KEEP_CORETYPE=1                   keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for FAISS (see ../peers.sh)
# Smoke test:
#   N=20000 REAL_N=10000 REAL_NQ=1000 MINTIME=0.2 EFS=16,64 PROBES=1,8 MNIST_CKPT=none bench/index/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../peers.sh"
parse_args "$0" "$@" # sets write (--write) and root

N=${N:-1000000}
D=${D:-256}
NQ=${NQ:-1000}
CKPT=${CKPT:-runs/fashion/mrl.ckpt}
MNIST_CKPT=${MNIST_CKPT:-none}
EPOCHS=${EPOCHS:-2}
REAL_N=${REAL_N:-0}
REAL_NQ=${REAL_NQ:-0}
GRAPH_DIM=${GRAPH_DIM:-64}
M=${M:-16}
EFC=${EFC:-100}
EFS=${EFS:-10,16,24,32,48,64,96,128,192,256}
PROBES=${PROBES:-1,2,4,8,16,32}
IVF_LISTS=${IVF_LISTS:-256}
MINTIME=${MINTIME:-1}
PIN_CPU=${PIN_CPU:-$(($(nproc) - 1))}
THREADS=${THREADS:-2}
BUILD_THREADS=${BUILD_THREADS:-2}
SKIP_PEERS=${SKIP_PEERS:-0}
HNSW_AB_ROUNDS=${HNSW_AB_ROUNDS:-5}
HNSW_AB_EFS=${HNSW_AB_EFS:-64,96,128}
HNSW_AB_EFS_REAL=${HNSW_AB_EFS_REAL:-10,16,24}
faiss_skip=
[ "${SKIP_FAISS_HNSW:-0}" = 1 ] && faiss_skip=-skip-hnsw

cd "$root"
if [ "$SKIP_PEERS" != 1 ]; then
	install_peers python3-faiss python3-numpy python3-threadpoolctl libopenblas0-openmp libhnswlib-dev g++
	ensure_openblas
	"$PY" -c 'import faiss, numpy' || { echo "bench/index: python3-faiss does not import with $PY" >&2; exit 1; }
	[ -f /usr/include/hnswlib/hnswlib.h ] || { echo "bench/index: /usr/include/hnswlib/hnswlib.h missing (libhnswlib-dev)" >&2; exit 1; }
fi
export OMP_WAIT_POLICY=PASSIVE # spinning OpenMP workers wreck multi-thread runs next to any other load
export GOMEMLIMIT=${GOMEMLIMIT:-8GiB}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/index-go" ./bench/index
if [ "$SKIP_PEERS" != 1 ]; then
	g++ -O3 -march=native -fopenmp -std=c++17 -I/usr/include "$here/hnswlib/hnswlib_bench.cpp" -o "$tmp/hnswlib_bench"
fi

out=$tmp/results.jsonl
if [ "$CKPT" != none ] && [ ! -f "$CKPT" ]; then
	echo "bench/index: $CKPT missing: training one (fashion-mnist, cnn, embed 512, mrl heads, $EPOCHS epochs)" >&2
	mkdir -p "$(dirname "$CKPT")"
	t0=$(date +%s)
	go run ./cmd/mrl train --data fashion-mnist --model cnn --heads mrl --embed 512 --epochs "$EPOCHS" --out "$CKPT" --quiet >&2
	echo "{\"impl\":\"go\",\"trained\":\"$CKPT\",\"train_s\":$(($(date +%s) - t0))}" >>"$out"
	echo "bench/index: trained $CKPT in $(($(date +%s) - t0)) s" >&2
fi
ckpts=()
[ "$CKPT" != none ] && ckpts+=("$CKPT")
if [ "$MNIST_CKPT" != none ]; then
	[ -f "$MNIST_CKPT" ] || { echo "bench/index: MNIST_CKPT=$MNIST_CKPT does not exist" >&2; exit 1; }
	ckpts+=("$MNIST_CKPT")
fi

# Rough estimate from a run on the shared 2-core AMD machine at load ~6
# (Fashion-MNIST 60k x 512 with 10k queries: ~17 min; 100k x 256 synthetic:
# ~3 min, half ours, half the peers), assumed ~2.5x faster when idle and
# growing a little faster than N (HNSW builds ~ N log N).
est=$("$PY" -c "
import math
n=$N; real=${#ckpts[@]}
syn=180*(n/1e5)*(1+0.1*math.log(max(n,1e5)/1e5)) if n else 0
print(round((real*17*60 + syn)/2.5/60))")
echo "bench/index: plan (estimate ~${est} min on an idle 2-core machine of this kind; 2-3x that on a busy one):" >&2
for c in ${ckpts[@]+"${ckpts[@]}"}; do
	echo "  real set from $c (rows ${REAL_N/#0/all}, queries ${REAL_NQ/#0/all}): Flat, funnels, tuner, HNSW at $GRAPH_DIM and full dim, IVF; FAISS Flat/HNSW, hnswlib" >&2
done
[ "$N" -gt 0 ] && echo "  synthetic ${N}x${D}, $NQ queries: Flat single+batched, funnels, HNSW at $GRAPH_DIM (M=$M efC=$EFC, ef $EFS), IVF $IVF_LISTS lists; FAISS Flat/HNSW, hnswlib" >&2

# set_sizes DIR: the rows, graph dim, queries and k of the set our program
# wrote to DIR (meta.json), on one line.
set_sizes() {
	"$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['n'], m['p'], m['nq'], m['k'])" "$1/meta.json"
}

peers() { # DIR INFO [HNSWLIB_INDEX]: the peers on the files our program wrote
	local dir=$1 info=$2 hindex=${3:-}
	[ "$SKIP_PEERS" = 1 ] && return
	read -r n p nq k <<<"$(set_sizes "$dir")"
	echo "bench/index: FAISS on $(basename "$dir") ($(date -u +%H:%M:%S))" >&2
	peer_env OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" \
		"$PY" "$here/faiss_index.py" "$dir" -threads "1,$THREADS" -build-threads "$BUILD_THREADS" -mintime "$MINTIME" \
		-efs "$EFS" -pin-cpu "$PIN_CPU" $info $faiss_skip | tee -a "$out" >&2
	echo "bench/index: hnswlib on $(basename "$dir") ($(date -u +%H:%M:%S))" >&2
	PIN_CPU=$PIN_CPU HNSWLIB_INDEX=$hindex "$tmp/hnswlib_bench" "$dir" "$n" "$p" "$nq" "$k" "$M" "$EFC" "$BUILD_THREADS" "$MINTIME" "$EFS" | tee -a "$out" >&2
}

PLANS=${PLANS:-16:200,D:10;32:200,D:10;64:100,D:10;8:800,32:100,D:10}
HNSW_PLANS=${HNSW_PLANS:-G:50,D:10;G:100,D:10;G:200,D:10;G:400,D:10}
common=(-k 10 -plans "$PLANS" -hnsw-plans "$HNSW_PLANS" -mintime "${MINTIME}s" -graph-dim "$GRAPH_DIM" -m "$M" -ef-construction "$EFC" -efs "$EFS"
	-probes "$PROBES" -threads "$THREADS" -build-threads "$BUILD_THREADS" -pin-cpu "$PIN_CPU")
load_before=$(cat /proc/loadavg)
echo "load before: $load_before" >&2
start=$(date +%s)
info=--info
# measure SET-ARGS...: our program on one set, then the peers on its files.
# The peers' files are written by a first process and every figure is
# taken by a second one: in the writing process the later HNSW searches
# ran 2-5x slower (2026-12-02, 1M rows).
# With AB=1 the first run saves both engines' graphs and ab_rounds follows.
measure() {
	local ab=${AB:-0} graph=() dir
	[ "$ab" = 1 ] && graph=(-graph-file "$tmp/g.hnsw")
	"$tmp/index-go" "$@" "${common[@]}" -dir "$tmp/data" -peer-files-only >/dev/null
	"$tmp/index-go" "$@" "${common[@]}" ${graph[@]+"${graph[@]}"} | tee -a "$out" >&2
	for dir in "$tmp"/data/*; do
		if [ "$ab" = 1 ]; then
			peers "$dir" "$info" "$tmp/hnswlib.bin"
			ab_rounds "$dir" "$@"
		else
			peers "$dir" "$info"
		fi
		info=
		rm -rf "$dir" "$tmp/g.hnsw" "$tmp/hnswlib.bin"
	done
}
# ab_rounds DIR SET-ARGS...: HNSW_AB_ROUNDS rounds of one search process
# per engine on the saved graphs, ours first in odd rounds, sweeping EFS
# (HNSW_AB_EFS or HNSW_AB_EFS_REAL, set by the caller).
ab_rounds() {
	local dir=$1 r n p nq k
	shift
	read -r n p nq k <<<"$(set_sizes "$dir")"
	for r in $(seq 1 "$HNSW_AB_ROUNDS"); do
		echo "bench/index: HNSW round $r of $HNSW_AB_ROUNDS on $(basename "$dir") ($(date -u +%H:%M:%S))" >&2
		local ours=("$tmp/index-go" "$@" "${common[@]}" -graph-file "$tmp/g.hnsw" -hnsw-ab "$r" -efs "$AB_EFS")
		local theirs=(env PIN_CPU="$PIN_CPU" HNSWLIB_INDEX="$tmp/hnswlib.bin" HNSW_AB_ROUND="$r"
			"$tmp/hnswlib_bench" "$dir" "$n" "$p" "$nq" "$k" "$M" "$EFC" "$BUILD_THREADS" "$MINTIME" "$AB_EFS")
		if [ $((r % 2)) = 1 ]; then
			"${ours[@]}" | tee -a "$out" >&2
			"${theirs[@]}" | tee -a "$out" >&2
		else
			"${theirs[@]}" | tee -a "$out" >&2
			"${ours[@]}" | tee -a "$out" >&2
		fi
	done
}
ab=0
[ "$SKIP_PEERS" != 1 ] && [ "$HNSW_AB_ROUNDS" -gt 0 ] && ab=1
for c in ${ckpts[@]+"${ckpts[@]}"}; do
	echo "bench/index: real set from $c ($(date -u +%H:%M:%S))" >&2
	AB=$ab AB_EFS=$HNSW_AB_EFS_REAL measure -ckpt "$c" -real-n "$REAL_N" -real-nq "$REAL_NQ"
done
if [ "$N" -gt 0 ]; then
	echo "bench/index: synthetic ${N}x${D} ($(date -u +%H:%M:%S))" >&2
	AB=$ab AB_EFS=$HNSW_AB_EFS measure -synth "$N" -synth-d "$D" -synth-nq "$NQ" -batch-nq "$NQ" -ivf-lists "$IVF_LISTS"
fi
load_after=$(cat /proc/loadavg)
echo "load after: $load_after; took $(($(date +%s) - start)) s" >&2

[ -n "${RAW:-}" ] && cp "$out" "$RAW"
table=$(PIN_CPU=$PIN_CPU "$PY" "$here/tables.py" "$out" "$load_before" "$load_after" "$(($(date +%s) - start))")
echo "$table"
if [ "$write" = 1 ]; then
	{
		echo "# Index engines: Flat, funnels, HNSW, IVF vs FAISS and hnswlib"
		echo
		echo "Written by \`bench/index/run.sh --write\`."
		echo
		echo "$table"
	} >"$here/RESULTS.md"
	echo "wrote $here/RESULTS.md" >&2
fi
