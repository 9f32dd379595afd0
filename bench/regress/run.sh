#!/usr/bin/env bash
# Our own speed at one kernel level, an older revision against the working
# tree: builds bench/gemm and bench/train at REV (in a temporary git
# worktree) and from the working tree, runs both alternately ROUNDS times
# on the same machine with MRL_KERNEL=LEVEL, and prints markdown tables of
# each side's figures and the ratio (working tree / REV). No peers.
#
# Its use: issue 16 asks that an AVX2-only machine get no slower from the
# AVX-512 work. On such a machine, run it with the defaults: REV is the
# last commit before the kernel levels, LEVEL avx2 (the older revision has
# only its AVX2 path and ignores MRL_KERNEL). Run it on an idle machine.
#
#   bench/regress/run.sh           print the tables
#   bench/regress/run.sh --write   also write them to bench/regress/RESULTS.md
#
# Environment (defaults in brackets):
#   REV [df470a4]  the revision to compare with (any git revision)
#   LEVEL [avx2]   MRL_KERNEL of the working tree's programs (and REV's, if it has levels)
#   ROUNDS [5]     alternations; gemm keeps each side's best, train its median
#   THREADS ["1 2"]  MODELS ["mlp cnn"]  SHAPES [all of REV's bench/gemm]
#   GEMM_REPS [3] GEMM_MINTIME [150ms]  CNN_STEPS [12] MLP_STEPS [30]
#   SKIP_GEMM=1 / SKIP_TRAIN=1  leave a part out
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../peers.sh"
parse_args "$0" "$@" # sets write (--write) and root

REV=${REV:-df470a4}
LEVEL=${LEVEL:-avx2}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1 2}
MODELS=${MODELS:-mlp cnn}
GEMM_REPS=${GEMM_REPS:-3}
GEMM_MINTIME=${GEMM_MINTIME:-150ms}

tmp=$(mktemp -d)
cleanup() {
	git -C "$root" worktree remove --force "$tmp/rev" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

revhash=$(git -C "$root" rev-parse --short "$REV^{commit}")
git -C "$root" worktree add --detach -q "$tmp/rev" "$revhash"
for side in rev now; do
	src=$root
	[ "$side" = rev ] && src=$tmp/rev
	(cd "$src" && go build -o "$tmp/gemm-$side" ./bench/gemm && go build -o "$tmp/train-go-$side" ./bench/train)
done
if ! "$tmp/train-go-now" -levels | grep -qx "$LEVEL"; then
	echo "bench/regress: LEVEL=$LEVEL is not a kernel level this CPU runs (it runs: $("$tmp/train-go-now" -levels | tr '\n' ' '))" >&2
	exit 1
fi

load_before=$(cat /proc/loadavg)
echo "load before: $load_before; REV $revhash; MRL_KERNEL=$LEVEL" >&2
out=$tmp/results.jsonl
threads_csv=$(echo $THREADS | tr ' ' ',')
shapes_arg=()
[ -n "${SHAPES:-}" ] && shapes_arg=(-shapes "$SHAPES")
for ((r = 1; r <= ROUNDS; r++)); do
	for side in rev now; do
		if [ "${SKIP_GEMM:-}" != 1 ]; then
			echo "round $r: gemm ($side)" >&2
			MRL_KERNEL=$LEVEL "$tmp/gemm-$side" -threads "$threads_csv" -reps "$GEMM_REPS" \
				-mintime "$GEMM_MINTIME" -peaktime 200ms "${shapes_arg[@]}" |
				sed "s/^{/{\"side\":\"$side\",\"bench\":\"gemm\",/" >>"$out"
		fi
		if [ "${SKIP_TRAIN:-}" != 1 ]; then
			for model in $MODELS; do
				case $model in
				mlp) steps=${MLP_STEPS:-30} warmup=5 ;;
				cnn) steps=${CNN_STEPS:-12} warmup=3 ;;
				*) echo "bench/regress: unknown model $model" >&2; exit 2 ;;
				esac
				for t in $THREADS; do
					echo "round $r: train $model t$t ($side)" >&2
					MRL_KERNEL=$LEVEL "$tmp/train-go-$side" -model "$model" -threads "$t" \
						-steps "$steps" -warmup "$warmup" |
						sed "s/^{/{\"side\":\"$side\",\"bench\":\"train\",/" >>"$out"
				done
			done
		fi
	done
done
load_after=$(cat /proc/loadavg)

report=$tmp/report.md
"$PY" - "$out" >"$report" <<EOF
import json, statistics, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
print("# Our speed at one kernel level: $revhash against the working tree")
print()
print("Written by \`bench/regress/run.sh --write\`.")
print()
print("- date: $(date -u +%Y-%m-%dT%H:%M:%S+00:00)")
print(f"- CPU: {cpu}; load average before: $load_before; after: $load_after")
print("- Go: $(go version | cut -d' ' -f3-); MRL_KERNEL=$LEVEL; $ROUNDS alternating rounds")
now_kernels = sorted({r.get("gemm", "") for r in rows if r["side"] == "now" and r.get("gemm")})
rev_kernels = sorted({r.get("gemm", "") for r in rows if r["side"] == "rev" and r.get("gemm")})
print(f"- GEMM path: working tree {', '.join(now_kernels) or 'n/a'}; $revhash {', '.join(rev_kernels) or 'n/a'}")
print()
def table(title, first):
    print(title)
    print()
    print(f"| {first} | threads | $revhash | working tree | ratio |")
    print("|---|---|---|---|---|")
g = collections.defaultdict(list)
for r in rows:
    if r["bench"] == "gemm" and "shape" in r:
        g[(r["shape"], r["threads"], r["side"])].append(r["gflops"])
if g:
    table("GEMM, GFLOP/s (best of the rounds, each round the best of its repetitions)", "shape")
    order = []
    for r in rows:
        if r["bench"] == "gemm" and "shape" in r and (r["shape"], r["threads"]) not in order:
            order.append((r["shape"], r["threads"]))
    for s, t in sorted(order, key=lambda x: x[1]):
        a, b = g.get((s, t, "rev")), g.get((s, t, "now"))
        if not a or not b:
            continue
        print(f"| {s} | {t} | {max(a):.1f} | {max(b):.1f} | {max(b) / max(a):.2f} |")
    print()
tr = collections.defaultdict(list)
for r in rows:
    if r["bench"] == "train":
        tr[(r["model"], r["threads"], r["side"])].append(r["samples_per_sec"])
if tr:
    table("Training, samples/s (median of the rounds; ratio: median of the rounds' paired ratios)", "model")
    for m, t in sorted({(k[0], k[1]) for k in tr}, key=lambda x: (x[0] != "mlp", x[1])):
        a, b = tr[(m, t, "rev")], tr[(m, t, "now")]
        ratio = statistics.median(y / x for x, y in zip(a, b))
        print(f"| {m} | {t} | {statistics.median(a):,.0f} | {statistics.median(b):,.0f} | {ratio:.2f} |")
EOF
cat "$report"
if [ "$write" = 1 ]; then
	cp "$report" "$here/RESULTS.md"
	echo "wrote $here/RESULTS.md" >&2
fi
