#!/usr/bin/env bash
# The test suite: every package with the assembly kernels, then the packages
# whose arithmetic runs through the kernels again with the pure-Go
# reference kernels (build tag noasm). Every stage runs even if an earlier
# one fails; the script lists the failed stages and exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
stage() {
  echo "== $*"
  if ! "$@"; then
    failed+=("$*")
  fi
}
stage go test ./...
stage go test -tags noasm ./internal/kernel ./nn ./matryoshka ./eval ./adapter
# On an AVX-512 machine the packages that choose a path by the kernel
# level (the batched scan's tile shape) also run at the AVX2 level.
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  stage env MRL_KERNEL=avx2 go test ./index ./nn
fi
# The layers that split their work among goroutines (the MRL heads' rows
# and gradient columns, Conv2d's images) under the race detector.
stage go test -race ./matryoshka ./nn
# Our checkpoints load into PyTorch and embed alike (skipped without
# Debian's python3-torch).
stage bash scripts/torch_check.sh
# mrl export onnx passes onnx.checker and runs in onnxruntime with the same
# results (skipped without python3-onnx, node or the npm package).
stage bash scripts/onnx_check.sh
# The generated kernels (internal/kernel/vec_gen_amd64.*) match their
# generator, a module of its own.
stage bash -c 'cd internal/kernel/asm && go test ./...'
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages:"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
echo "all stages passed"
