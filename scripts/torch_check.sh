#!/usr/bin/env bash
# Checks that our checkpoints load into PyTorch: trains a small MLP and a
# small CNN for a few steps on MNIST (so batch norm's running statistics are
# not the defaults), embeds 64 random rows with "mrl embed --in", rebuilds
# each model in PyTorch (scripts/torch_check.py: load_state_dict with
# strict=True, our OHWI conv weights permuted to OIHW) and compares the
# embeddings; fails past a relative difference of 1e-5. Skipped, with a
# message, where Debian's python3-torch is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	echo "torch_check: skipped: PyTorch is not installed (apt-get install python3-torch)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/mrl" ./cmd/mrl
"$PY" -c "import numpy as np; np.random.seed(1); np.save('$tmp/raw.npy', np.random.rand(64, 784).astype(np.float32))"
common=(--epochs 1 --max-steps 8 --batch 64 --quiet)
quiet() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }; }
quiet "$tmp/mrl" train --model mlp --hidden 256 --embed 128 "${common[@]}" --out "$tmp/mlp.ckpt"
quiet "$tmp/mrl" train --model cnn --width 16 --embed 128 "${common[@]}" --out "$tmp/cnn.ckpt"
for m in mlp cnn; do
	quiet "$tmp/mrl" embed --ckpt "$tmp/$m.ckpt" --in "$tmp/raw.npy" --out "$tmp/$m.npy"
	"$PY" scripts/torch_check.py "$tmp/$m.ckpt" "$tmp/raw.npy" "$tmp/$m.npy"
done
