#!/usr/bin/env bash
# The test suite: every package with the assembly kernels, then the packages
# whose arithmetic runs through the kernels again with the pure-Go
# reference kernels (build tag noasm).
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./...
go test -tags noasm ./internal/kernel ./nn ./matryoshka ./eval
# On an AVX-512 machine the packages that choose a path by the kernel
# level (the batched scan's tile shape) also run at the AVX2 level.
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
	MRL_KERNEL=avx2 go test ./index ./nn
fi

# The generated kernels (internal/kernel/vec_gen_amd64.*) match their
# generator, a module of its own.
(cd internal/kernel/asm && go test ./...)
