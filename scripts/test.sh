#!/usr/bin/env bash
# The test suite: every package with the assembly kernels, then the packages
# whose arithmetic runs through the kernels again with the pure-Go
# reference kernels (build tag noasm).
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./...
go test -tags noasm ./internal/kernel ./nn ./matryoshka ./eval

# The generated kernels (internal/kernel/vec_gen_amd64.*) match their
# generator, a module of its own.
(cd internal/kernel/asm && go test ./...)
