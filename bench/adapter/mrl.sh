#!/bin/sh
# End-to-end MRL rows for the adapter tables (issue 15): on the same data,
# a model trained WITH the Matryoshka loss next to the same model trained
# without it (FF) plus an adapter. Each "mrl adapt eval --mrl" prints, per
# prefix dim, recall@10 against the full-dim neighbours for truncation,
# PCA and the adapter (all on the FF embeddings, against the FF model's own
# full-dim neighbours) and for the MRL model's prefixes (against the MRL
# model's own full-dim neighbours): does the prefix find what the full
# embedding finds?
#
#   1. Fashion-MNIST: CNN FF-512 vs CNN MRL-512 (3 epochs each), database
#      the 60000 training images, queries the 10000 test images.
#   2. debian-descriptions: the text encoder with nesting 128 only (FF) vs
#      nesting 8..128 (MRL), the same settings and the same 199 steps (the
#      FF run of bench/adapter/text.sh was stopped there); database the
#      test split's 12208 descriptions, queries the first 2000 synopses.
#   3. MNIST: MLP FF-2048 vs MLP MRL-2048 (see below); 4. with MNIST_FULL=1,
#      the FF-2048 adapter on all 60000 rows.
#
# Usage: bench/adapter/mrl.sh [WORKDIR]   (default /tmp/mrl-adapter-mrl)
# Needs the Fashion-MNIST download and apt's lists (see the README), and
# an hour or more of 2 cores. Nothing here is committed.
set -eu
W=${1:-/tmp/mrl-adapter-mrl}
mkdir -p "$W"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$ROOT" && go build -o "$W/mrl" ./cmd/mrl)
M="$W/mrl"
cd "$W"

# 1. Fashion-MNIST.
for h in ff mrl; do
	[ -f fm_$h.ckpt ] || "$M" train --data fashion-mnist --model cnn --heads $h --embed 512 --epochs 3 --out fm_$h.ckpt
	for s in train test; do
		[ -f fm_${h}_$s.npy ] || "$M" embed --ckpt fm_$h.ckpt --data fashion-mnist --split $s --out fm_${h}_$s.npy
	done
done
[ -f fm_ff.adapter ] || "$M" adapt --in fm_ff_train.npy --epochs 3 --out fm_ff.adapter | tee fm_ff_adapt.log
"$M" adapt eval --adapter fm_ff.adapter --in fm_ff_train.npy --queries fm_ff_test.npy --nq 0 \
	--mrl fm_mrl_train.npy --mrl-queries fm_mrl_test.npy | tee fm_eval.log

# 2. debian-descriptions.
T="--model text --loss contrastive --data debian-descriptions --embed 128 --optimizer adamw --lr 0.01 --wd 0.01 --batch 256 --epochs 3 --max-steps 199 --seed 1 --model-seed 1"
[ -f text_ff.ckpt ] || "$M" train $T --nesting 128 --out text_ff.ckpt
[ -f text_mrl.ckpt ] || "$M" train $T --nesting 8,16,32,64,128 --out text_mrl.ckpt
"$M" bm25 --data debian-descriptions --split test --export test.jsonl >/dev/null
"$M" bm25 --data debian-descriptions --split train --limit 20000 --export train.jsonl >/dev/null
for h in ff mrl; do
	for s in train test; do
		for f in query doc; do
			[ -f ${s}_${f}_$h.npy ] || "$M" embed --ckpt text_$h.ckpt --in $s.jsonl --field $f --out ${s}_${f}_$h.npy
		done
	done
done
[ -f text_ff.adapter ] || "$M" adapt --in train_doc_ff.npy --out text_ff.adapter | tee text_ff_adapt.log
"$M" adapt eval --adapter text_ff.adapter --in test_doc_ff.npy --queries test_query_ff.npy --nq 2000 \
	--mrl test_doc_mrl.npy --mrl-queries test_query_mrl.npy | tee text_eval.log

# 3. MNIST: MLP FF-2048 vs MLP MRL-2048 (3 epochs each), database the first
#    20000 training images, queries the first 2000 test images (a 60000 ×
#    2048 adapter epoch is 16 times a 512-dim one).
for h in ff mrl; do
	[ -f mn_$h.ckpt ] || "$M" train --data mnist --model mlp --heads $h --embed 2048 --epochs 3 --out mn_$h.ckpt
	[ -f mn_${h}_train.npy ] || "$M" embed --ckpt mn_$h.ckpt --split train --n 20000 --out mn_${h}_train.npy
	[ -f mn_${h}_test.npy ] || "$M" embed --ckpt mn_$h.ckpt --split test --n 2000 --out mn_${h}_test.npy
done
[ -f mn_ff.adapter ] || "$M" adapt --in mn_ff_train.npy --epochs 3 --out mn_ff.adapter | tee mn_ff_adapt.log
"$M" adapt eval --adapter mn_ff.adapter --in mn_ff_train.npy --queries mn_ff_test.npy --nq 0 \
	--mrl mn_mrl_train.npy --mrl-queries mn_mrl_test.npy | tee mn_eval.log

# 4. MNIST FF-2048 on all 60000 training rows, queries all 10000 test rows
#    (README "All 60000 rows"; about 40 minutes of 2 busy cores): run with
#    MNIST_FULL=1.
if [ "${MNIST_FULL:-0}" = 1 ]; then
	for s in train test; do
		[ -f mn_ff_full_$s.npy ] || "$M" embed --ckpt mn_ff.ckpt --split $s --out mn_ff_full_$s.npy
	done
	[ -f mn60.adapter ] || "$M" adapt --in mn_ff_full_train.npy --epochs 3 --out mn60.adapter | tee mn60_adapt.log
	"$M" adapt eval --adapter mn60.adapter --in mn_ff_full_train.npy --queries mn_ff_full_test.npy --nq 0 | tee mn60_eval.log
fi
