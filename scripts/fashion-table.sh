#!/usr/bin/env bash
# Trains the Fashion-MNIST CNN with MRL and MRL-E heads and one FF model per
# nesting dim (same recipe), then prints the per-dim top-1 table that the
# README shows. Usage: scripts/fashion-table.sh [EPOCHS]   (default 5)
# Checkpoints and results go to runs/fashion/.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-5}"
out=runs/fashion
mkdir -p "$out"
go build -o "$out/mrl" ./cmd/mrl
common=(--data fashion-mnist --model cnn --epochs "$epochs" --quiet)
"$out/mrl" train "${common[@]}" --heads mrl --out "$out/mrl.ckpt"
"$out/mrl" train "${common[@]}" --heads mrl-e --out "$out/mrl-e.ckpt"
ckpts=("$out/mrl.ckpt" "$out/mrl-e.ckpt")
for k in 8 16 32 64 128 256 512; do
  "$out/mrl" train "${common[@]}" --heads ff --ff-dim "$k" --out "$out/ff$k.ckpt"
  ckpts+=("$out/ff$k.ckpt")
done
"$out/mrl" eval --json "$out/eval.json" --csv "$out/eval.csv" "${ckpts[@]}" | tee "$out/table.txt"
