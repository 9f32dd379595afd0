#!/bin/sh
# The adapter's fourth round (issue 15), to rerun on an idle machine:
#
#   funnel  the Fashion-MNIST FF-512 funnels' wall-clock: "mrl adapt eval
#           --funnel" on the 60000 training rows with the first 1000 test
#           rows as queries, flat and HNSW first stages on the adapted
#           prefixes (M 16 and M 8), each plan timed batched and one query
#           at a time against exact search timed the same way. Needs
#           FM_TRAIN, FM_TEST (the FF-512 embeddings, "mrl embed") and
#           FM_ADAPTER ("mrl adapt --in $FM_TRAIN --epochs 3"); FUNNEL_DIMS
#           (default 8,16,32,64) for embeddings of fewer dims.
#   terms   the table "terms aimed at recall@10": synthetic set (made here)
#           and text set (TEXT_DIR, the work dir of bench/adapter/text.sh,
#           holding train_doc.npy, train_query.npy, test_doc.npy and
#           test_query.npy), one adapter per row, then its test eval.
#
# Usage: bench/adapter/round4.sh funnel|terms [WORKDIR]   (default /tmp/mrl-adapter-round4)
# Nothing here is committed; WORKDIR holds it all. Print the load average
# with the figures: other processes make the times provisional.
set -eu
what=${1:?funnel or terms}
W=${2:-/tmp/mrl-adapter-round4}
mkdir -p "$W"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$ROOT" && go build -o "$W/mrl" ./cmd/mrl)
M="$W/mrl"
cd "$W"
cat /proc/loadavg

case $what in
funnel)
	: "${FM_TRAIN:?} ${FM_TEST:?} ${FM_ADAPTER:?}"
	for m in 16 8; do
		"$M" adapt eval --adapter "$FM_ADAPTER" --in "$FM_TRAIN" --queries "$FM_TEST" --nq 1000 \
			--funnel --dims "${FUNNEL_DIMS:-8,16,32,64}" --keeps 20,30,50,100,200,400,800 --hnsw-dims 16,32 --hnsw-m $m >funnel_m$m.log
		cat funnel_m$m.log
	done
	;;
terms)
	: "${TEXT_DIR:?}"
	"$M" adapt synth --n 10000 --d 128 --out syn.npy --queries-out synq.npy >/dev/null
	run() { # name set flags...
		name=$1 set=$2
		shift 2
		if [ "$set" = syn ]; then
			"$M" adapt --in syn.npy --out $name.adapter "$@" >$name.log
			"$M" adapt eval --adapter $name.adapter --in syn.npy --queries synq.npy --nq 0 >$name.eval
		else
			"$M" adapt --in "$TEXT_DIR/train_doc.npy" --out $name.adapter "$@" >$name.log
			"$M" adapt eval --adapter $name.adapter --in "$TEXT_DIR/test_doc.npy" --queries "$TEXT_DIR/test_query.npy" --nq 2000 >$name.eval
		fi
		echo "== $name ($set $*): val $(grep 'val recall' $name.log | tail -1 | sed 's/.*val recall@10 //')"
		sed -n '4,8p' $name.eval
	}
	run sb syn
	run sh3n syn --hard 3 --boundary-weight -1
	run sh3 syn --hard 3
	run sh3w3 syn --hard 3 --boundary-weight 3
	run sh6w3 syn --hard 6 --boundary-weight 3
	run sh3w3m syn --hard 3 --boundary-weight 3 --hidden 512
	run st02 syn --temperature 0.02
	run tb text
	run th3w3 text --hard 3 --boundary-weight 3
	run tt02 text --temperature 0.02
	run tqa text --query-anchors "$TEXT_DIR/train_query.npy"
	;;
*)
	echo "usage: $0 funnel|terms [WORKDIR]" >&2
	exit 2
	;;
esac
cat /proc/loadavg
