#!/usr/bin/env bash
# Cross-builds static mrl binaries (no cgo, -trimpath) for linux and
# darwin on amd64 and arm64 into dist/ (or $OUT), with SHA-256 sums in
# dist/SHA256SUMS. The version printed by "mrl version" is the tag or
# description of HEAD (git describe), and the binaries carry the VCS
# revision.
#
#   scripts/release.sh            build all four
#   TARGETS="linux/amd64" scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-dist}
TARGETS=${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
version=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)

mkdir -p "$OUT"
rm -f "$OUT/SHA256SUMS"
for t in $TARGETS; do
	os=${t%/*} arch=${t#*/}
	bin="$OUT/mrl-$version-$os-$arch"
	echo "building $bin" >&2
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=true \
		-ldflags "-s -w -X main.releaseVersion=$version" -o "$bin" ./cmd/mrl
done
(cd "$OUT" && sha256sum mrl-"$version"-* >SHA256SUMS)
cat "$OUT/SHA256SUMS"
