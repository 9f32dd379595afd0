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
stage go test -tags noasm ./internal/kernel ./nn ./matryoshka ./eval
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages:"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
echo "all stages passed"
