#!/usr/bin/env bash
# BM25 on debian-descriptions (issue 14): our BM25 (package bm25, through
# `mrl bm25`) against the Xapian engine (Debian python3-xapian,
# xapian_bm25.py) on the same test split: each query is a package's
# synopsis, its relevant document the package's long description, ranked
# among all test descriptions. Both sides stem with Snowball English and
# score with BM25 at the same (k1, b); Xapian runs twice, with its own word
# split and with ours (xapian_bm25.py --our-words), which isolates the
# effect of tokenisation. The table shows recall@1/10/100, MRR@10 and
# nDCG@10 per engine and parameter pair. These are quality
# figures: they do not depend on the machine's load. Installs
# python3-xapian if missing, and fetches apt's English descriptions
# (apt-get update -o Acquire::Languages=en) if they are not there.
#
#   bench/text/run.sh           print the table (~5 min)
#   bench/text/run.sh --write   also write it to bench/text/RESULTS.md
#
# Environment (defaults in brackets):
#   PARAMS ["0.9,0.4 1,0.5 1.2,0.75"]  (k1,b) pairs: Anserini's, Xapian's and the textbook defaults
#   LIMIT [0]                         rank only the first LIMIT test pairs (0: all)
#   SKIP_PEERS=1                      only our side
# Smoke test:
#   LIMIT=500 PARAMS=1,0.5 bench/text/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../peers.sh"
parse_args "$0" "$@" # sets write (--write) and root

PARAMS=${PARAMS:-"0.9,0.4 1,0.5 1.2,0.75"}
LIMIT=${LIMIT:-0}
SKIP_PEERS=${SKIP_PEERS:-0}

if [ "$SKIP_PEERS" != 1 ]; then
	install_peers python3-xapian
fi
lists=${MRL_APT_LISTS_DIR:-/var/lib/apt/lists}
if ! compgen -G "$lists/*_i18n_Translation-en*" >/dev/null; then
	echo "bench: no Translation-en lists in $lists; fetching them" >&2
	as_root apt-get update -q -o Acquire::Languages=en >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/mrl" ./cmd/mrl)

first=1
for p in $PARAMS; do
	k1=${p%,*} b=${p#*,}
	args=(--data debian-descriptions --limit "$LIMIT" --k1 "$k1" --b "$b" --json "$tmp/ours-$p.json")
	if [ $first = 1 ]; then
		args+=(--export "$tmp/test.jsonl")
	fi
	echo "bench: ours k1=$k1 b=$b" >&2
	"$tmp/mrl" bm25 "${args[@]}" >"$tmp/ours-$p.txt"
	first=0
	if [ "$SKIP_PEERS" != 1 ]; then
		echo "bench: xapian k1=$k1 b=$b" >&2
		$PY "$here/xapian_bm25.py" "$tmp/test.jsonl" --k1 "$k1" --b "$b" >"$tmp/xapian-$p.json"
		echo "bench: xapian k1=$k1 b=$b, our word split" >&2
		$PY "$here/xapian_bm25.py" "$tmp/test.jsonl" --k1 "$k1" --b "$b" --our-words >"$tmp/xapian-words-$p.json"
	fi
done

table=$($PY - "$tmp" "$PARAMS" <<'PY'
import json, os, platform, sys, time
tmp, params = sys.argv[1], sys.argv[2].split()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
ours0 = json.load(open(os.path.join(tmp, "ours-%s.json" % params[0])))
print("# BM25 on debian-descriptions: ours vs Xapian\n")
print("- date: %s; CPU: %s; load average: %s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cpu, open("/proc/loadavg").read().split()[0]))
print("- data: %s, train %d / val %d / test %d pairs, %d sections; read %d description stanzas, kept %d; seed %d"
      % (ours0["data"], ours0["train"], ours0["val"], ours0["test"], ours0["classes"], ours0["stats"]["read"], ours0["stats"]["kept"], ours0["seed"]))
print("- sha256 of the apt lists read: `%s`" % ours0["sha256"])
rows = []
for p in params:
    o = json.load(open(os.path.join(tmp, "ours-%s.json" % p)))
    m = o["metrics"]
    rows.append(("mrl bm25", o["k1"], o["b"], m["queries"], o["terms"], m))
    for kind in ("xapian", "xapian-words"):
        xp = os.path.join(tmp, "%s-%s.json" % (kind, p))
        if os.path.exists(xp):
            x = json.load(open(xp))
            rows.append((x["engine"], x["k1"], x["b"], x["queries"], x["terms"], x))
print("- task: %s split, synopsis -> long description among all %d of its descriptions; Snowball English stemming on both sides, no stop words\n" % (ours0["split"], rows[0][3]))
print("| engine | k1 | b | queries | terms | recall@1 | recall@10 | recall@100 | MRR@10 | nDCG@10 |")
print("|---|---|---|---|---|---|---|---|---|---|")
for e, k1, b, n, terms, m in rows:
    print("| %s | %g | %g | %d | %d | %.4f | %.4f | %.4f | %.4f | %.4f |" % (e, k1, b, n, terms, m["recall_at_1"], m["recall_at_10"], m["recall_at_100"], m["mrr_at_10"], m["ndcg_at_10"]))
PY
)
echo "$table"
if [ "$write" = 1 ]; then
	echo "$table" >"$here/RESULTS.md"
	echo "bench: wrote $here/RESULTS.md" >&2
fi
