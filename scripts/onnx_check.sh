#!/usr/bin/env bash
# Checks "mrl export onnx" against real ONNX tooling: trains a small MLP and a
# small CNN for a few steps, exports each (full embedding with heads, and a
# 32-dim prefix), validates the files with onnx.checker (full_check, Debian's
# python3-onnx), runs them with onnxruntime as shipped inside npm's
# onnxruntime-node package (installed here with --ignore-scripts, which keeps
# the bundled binaries) and compares embeddings with mrl embed and logits
# with the checkpoint's heads; fails past a relative difference of 1e-5.
# Skipped, with a message, without python3-onnx, node/npm, or when the npm
# package cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
ORT_VERSION=${ORT_VERSION:-1.20.1}
skip() { echo "onnx_check: skipped: $*"; exit 0; }
"$PY" -c 'import onnx, numpy' 2>/dev/null || skip "python3-onnx is not installed (apt-get install python3-onnx)"
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && npm install --silent --no-audit --no-fund --ignore-scripts "onnxruntime-node@$ORT_VERSION" >"$tmp/npm.log" 2>&1); then
	skip "npm could not install onnxruntime-node@$ORT_VERSION: $(tail -1 "$tmp/npm.log")"
fi
go build -o "$tmp/mrl" ./cmd/mrl
"$PY" -c "
import json, numpy as np
np.random.seed(1)
x = np.random.rand(64, 784).astype(np.float32)
np.save('$tmp/raw.npy', x)
json.dump({'rows': 64, 'cols': 784, 'data': x.ravel().tolist()}, open('$tmp/raw.json', 'w'))"
quiet() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }; }
common=(--epochs 1 --max-steps 8 --batch 64 --quiet)
quiet "$tmp/mrl" train --model mlp --hidden 256 --embed 128 "${common[@]}" --out "$tmp/mlp.ckpt"
quiet "$tmp/mrl" train --model cnn --width 16 --embed 128 "${common[@]}" --out "$tmp/cnn.ckpt"
for m in mlp cnn; do
	quiet "$tmp/mrl" embed --ckpt "$tmp/$m.ckpt" --in "$tmp/raw.npy" --out "$tmp/$m.npy"
	for variant in "heads:--heads" "dim32:--dim 32"; do
		name=${variant%%:*} flags=${variant#*:}
		# shellcheck disable=SC2086
		quiet "$tmp/mrl" export onnx --ckpt "$tmp/$m.ckpt" $flags --out "$tmp/$m-$name.onnx"
		NODE_PATH="$tmp/node_modules" node scripts/onnx/run.js "$tmp/$m-$name.onnx" "$tmp/raw.json" "$tmp/$m-$name.json"
		"$PY" scripts/onnx/compare.py "$tmp/$m.ckpt" "$tmp/$m-$name.onnx" "$tmp/raw.npy" "$tmp/$m.npy" "$tmp/$m-$name.json"
	done
done
