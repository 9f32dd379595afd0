#!/bin/sh
# The recall term's tables (issue 15, fifth round, continued; README):
# one adapter per row, trained on one thread, then its eval on the held-out
# queries. Synthetic set made here; text set from TEXT_DIR, the work dir of
# steps 1-3 of bench/adapter/text.sh (train_doc.npy, train_query.npy,
# test_doc.npy, test_query.npy). Rows "db" train on the test documents, the
# database the index holds (no test query is used).
#
# Usage: TEXT_DIR=DIR bench/adapter/recall.sh [WORKDIR]   (default /tmp/mrl-adapter-recall)
# About an hour and a half of one core; nothing here is committed.
set -eu
: "${TEXT_DIR:?}"
W=${1:-/tmp/mrl-adapter-recall}
mkdir -p "$W"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$ROOT" && go build -o "$W/mrl" ./cmd/mrl && go build -o "$W/ceiling" ./bench/adapter/ceiling)
M="$W/mrl"
cd "$W"
"$M" adapt synth --n 10000 --d 128 --out syn.npy --queries-out synq.npy >/dev/null
T=$TEXT_DIR
run() { # name syn|text|db flags...
	name=$1 set=$2
	shift 2
	case $set in
	syn) in=syn.npy eval="--in syn.npy --queries synq.npy --nq 0" ;;
	text) in=$T/train_doc.npy eval="--in $T/test_doc.npy --queries $T/test_query.npy --nq 2000" ;;
	db) in=$T/test_doc.npy eval="--in $T/test_doc.npy --queries $T/test_query.npy --nq 2000" ;;
	esac
	"$M" adapt --in $in --out $name.adapter --threads 1 "$@" >$name.log
	GOMAXPROCS=1 "$M" adapt eval --adapter $name.adapter $eval >$name.eval
	echo "== $name ($set $*): val $(grep 'val recall' $name.log | tail -1 | sed 's/.*val recall@10 //')"
	grep -E '^ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' $name.eval
}
alone="--pair-weight -1 --topk-weight -1 --rank-weight -1 --iso-weight -1"
qa="--query-anchors $T/train_query.npy"

run s_def syn
run s_r01 syn --recall-weight 0.1
run s_r03 syn --recall-weight 0.3
run s_r01only syn --recall-weight 0.1 --pair-weight -1 --topk-weight -1 --rank-weight -1
run s_r01noortho syn --recall-weight 0.1 --ortho-every -1
run s_r01h256 syn --recall-weight 0.1 --hidden 256
run s_r01h512 syn --recall-weight 0.1 --hidden 512
run s_h512 syn --hidden 512
run s_diag_adam syn --recall-weight 1 --optimizer adamw $alone --ortho-every -1 --dim-weights 1,1,0,0,0
run s_d16_adam syn --out-dim 16 --nesting 16 --recall-weight 1 --optimizer adamw $alone --ortho-every -1
run s_mlpalone syn --hidden 512 --recall-weight 1 --optimizer adamw $alone
run s_mlpall syn --hidden 512 --recall-weight 1 --optimizer adamw
run s_mlp16res syn --hidden 512 --residual-dims 16 --dim-weights 1,1,0,0,0 --recall-weight 1 --optimizer adamw $alone
run s_d16h512_adam syn --out-dim 16 --nesting 16 --hidden 512 --recall-weight 1 --optimizer adamw $alone --ortho-every -1

run t_def text
run t_r01 text --recall-weight 0.1
run t_qa text $qa
run t_r01qa text --recall-weight 0.1 $qa
run t_r01qa_tdb db --recall-weight 0.1 $qa
run t_r01qa_noortho_tdb db --recall-weight 0.1 $qa --ortho-every -1 --dim-weights 2,2,1,1,1
run t_h512 text --hidden 512
run t_r01h512 text --recall-weight 0.1 --hidden 512 --recall-negatives 4096
run t_r01qah512 text --recall-weight 0.1 --hidden 512 --recall-negatives 4096 $qa
run t_r01qah512_tdb db --recall-weight 0.1 --hidden 512 --recall-negatives 4096 $qa
run t_diag_tdb db --recall-weight 0.1 $qa $alone --ortho-every -1 --dim-weights 1,1,0,0,0
run t_diag_adam db --recall-weight 1 --optimizer adamw $qa $alone --ortho-every -1 --dim-weights 1,1,0,0,0
run t_d16_adam db --out-dim 16 --nesting 16 --recall-weight 1 --optimizer adamw $qa $alone --ortho-every -1
run t_mlpalone_tdb db --hidden 512 --recall-negatives 4096 --recall-weight 1 --optimizer adamw $qa $alone
run t_mlpalone text --hidden 512 --recall-negatives 4096 --recall-weight 1 --optimizer adamw $qa $alone
run t_mlpall_tdb db --hidden 512 --recall-negatives 4096 --recall-weight 1 --optimizer adamw $qa
run t_mlpall text --hidden 512 --recall-negatives 4096 --recall-weight 1 --optimizer adamw $qa
run t_mlp16res_tdb db --hidden 512 --residual-dims 16 --dim-weights 1,1,0,0,0 --recall-negatives 4096 --recall-weight 1 --optimizer adamw $qa $alone
run t_d16h512_adam db --out-dim 16 --nesting 16 --hidden 512 --recall-negatives 4096 --recall-weight 1 --optimizer adamw $qa $alone --ortho-every -1
run t_d16h512_adam_tr text --out-dim 16 --nesting 16 --hidden 512 --recall-negatives 4096 --recall-weight 1 --optimizer adamw $qa $alone --ortho-every -1
# The linear ceiling at dim 16 fitted on all 20000 training synopses (held out from the evaluation).
GOMAXPROCS=1 "$W/ceiling" -db $T/test_doc.npy -queries $T/test_query.npy -nq 2000 -dims 16 -train-queries $T/train_query.npy -iters 400 -every 100
