#!/bin/sh
# Matryoshka adapter on a text set (issue 15): embeddings of
# debian-descriptions from our text encoder trained WITHOUT the Matryoshka
# loss (a nesting of only the full dim, 128), then truncation / PCA /
# adapter (unsupervised, and with the synopsis→description pairs) at every
# prefix dim:
#   - recall@10 against the exact full-dim neighbours of the queries among
#     the test documents ("mrl adapt eval");
#   - the downstream synopsis→description metrics per prefix dim
#     ("mrl bm25 --query-emb --doc-emb").
# The adapters train on the first 20000 training pairs (documents, and
# their synopses as pair queries); all evaluation is on the test split.
#
# Usage: bench/adapter/text.sh [WORKDIR]   (default /tmp/mrl-adapter-text)
# Needs apt's lists for debian-descriptions (see the README) and a few
# minutes of 2 cores. Nothing here is committed; WORKDIR holds it all.
set -eu
W=${1:-/tmp/mrl-adapter-text}
mkdir -p "$W"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$ROOT" && go build -o "$W/mrl" ./cmd/mrl)
M="$W/mrl"
cd "$W"

# 1. A text encoder without MRL: contrastive loss at the full dim only.
[ -f text.ckpt ] || "$M" train --model text --loss contrastive --data debian-descriptions \
	--nesting 128 --embed 128 --epochs 1 --out text.ckpt

# 2. The splits as JSONL pairs {"query": synopsis, "doc": description}.
"$M" bm25 --data debian-descriptions --split test --export test.jsonl >/dev/null
"$M" bm25 --data debian-descriptions --split train --limit 20000 --export train.jsonl >/dev/null

# 3. Embeddings, rows in pair order.
for s in train test; do
	for f in query doc; do
		"$M" embed --ckpt text.ckpt --in $s.jsonl --field $f --out ${s}_$f.npy
	done
done

# 4. Adapters: unsupervised (u), and with the pairs (p).
"$M" adapt --in train_doc.npy --out text_u.adapter | tee text_u.log
"$M" adapt --in train_doc.npy --pair-queries train_query.npy --out text_p.adapter | tee text_p.log

# 5. Evaluation on the test split.
for a in u p; do
	"$M" adapt eval --adapter text_$a.adapter --in test_doc.npy --queries test_query.npy --nq 2000 | tee text_${a}_eval.log
	"$M" adapt apply --adapter text_$a.adapter --in test_doc.npy --out test_doc_$a.npy
	"$M" adapt apply --adapter text_$a.adapter --in test_query.npy --out test_query_$a.npy
	"$M" bm25 --data debian-descriptions --query-emb test_query_$a.npy --doc-emb test_doc_$a.npy | tee text_${a}_bm25.log
done
# Truncation of the plain embeddings, for the downstream metrics.
"$M" bm25 --data debian-descriptions --query-emb test_query.npy --doc-emb test_doc.npy | tee text_trunc_bm25.log
