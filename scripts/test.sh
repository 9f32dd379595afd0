#!/usr/bin/env bash
# The test suite: every package with the assembly kernels, then the packages
# whose arithmetic runs through the kernels again with the pure-Go
# reference kernels (build tag noasm).
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./...
go test -tags noasm ./internal/kernel ./nn ./matryoshka ./eval
