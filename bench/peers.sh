# Sourced by the bench/*/run.sh scripts: installs the Debian peers and makes
# sure libblas.so.3 is OpenBLAS (OpenMP build). Debian's python3-torch and
# python3-numpy use whatever libblas.so.3 is selected; on the reference BLAS
# they are ~25-50x slower and a comparison with them means nothing.

# parse_args SCRIPT ARGS...: the options every run.sh takes. --write sets
# write=1 (write RESULTS.md), -h prints SCRIPT's header comment; it also
# sets root, the repository.
parse_args() {
	local script=$1 a
	shift
	write=0
	for a in "$@"; do
		case $a in
		--write) write=1 ;;
		-h | --help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$script"; exit 0 ;;
		*) echo "usage: $script [--write]" >&2; exit 2 ;;
		esac
	done
	root=$(cd "$(dirname "$script")/../.." && pwd)
}

PY=/usr/bin/python3 # Debian's interpreter, which sees the python3-* packages
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "bench: need root for: $*" >&2
		return 1
	fi
}

# install_peers PKG...: apt-get installs the packages that are missing.
install_peers() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "bench: installing ${missing[*]}" >&2
		as_root apt-get update -q -o Acquire::Languages=en >&2 # keep the Translation-en lists (debian-descriptions) a plain update deletes
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
	fi
}

# ensure_openblas: selects the OpenMP OpenBLAS for libblas.so.3 and
# liblapack.so.3 unless they already resolve to an OpenBLAS, and prints what
# libblas.so.3 resolves to.
ensure_openblas() {
	local lib alt cur want
	for lib in blas lapack; do
		alt=lib$lib.so.3-$MULTIARCH
		want=/usr/lib/$MULTIARCH/openblas-openmp/lib$lib.so.3
		cur=$(update-alternatives --query "$alt" 2>/dev/null | awk '/^Value:/ {print $2}')
		if [[ $cur != *openblas* ]]; then
			echo "bench: lib$lib.so.3 is '${cur:-unset}'; selecting $want" >&2
			as_root update-alternatives --set "$alt" "$want" >&2
		fi
	done
	local real
	real=$(readlink -f "/usr/lib/$MULTIARCH/libblas.so.3")
	if [[ $real != *openblas* ]]; then
		echo "bench: libblas.so.3 still resolves to $real, not OpenBLAS" >&2
		return 1
	fi
	echo "bench: libblas.so.3 -> $real" >&2
}

# peer_env: the environment of a peer's command. OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE are set on some machines of this workplace to keep old
# OpenBLAS builds from crashing; they also slow OpenBLAS down, so a
# benchmark command drops them (KEEP_CORETYPE=1 keeps them) and the peer
# reports which OpenBLAS core kernel it then runs.
peer_env() {
	if [ "${KEEP_CORETYPE:-0}" = 1 ]; then
		env "$@"
	else
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"
	fi
}

# OpenMP's wait policy of the peers. PASSIVE workers sleep between
# parallel regions (spinning ones wreck multi-thread runs next to any other
# load); ACTIVE ones spin, as our pooled workers do for up to 200 µs
# (internal/kernel/pool.go), which on an idle machine is faster (PyTorch
# +6-8% at 2 threads, 2026-12-02). So a peer runs under each policy of
# PEER_WAIT_POLICIES (default "PASSIVE ACTIVE"; the caller sets
# OMP_WAIT_POLICY on each peer command) and its better result counts.
PEER_WAIT_POLICIES=${PEER_WAIT_POLICIES:-PASSIVE ACTIVE}

# peer_policies T: the policies a peer runs under at T threads: all of
# PEER_WAIT_POLICIES, or at one thread (no workers to wait) the first.
peer_policies() {
	if [ "$1" = 1 ]; then
		echo "${PEER_WAIT_POLICIES%% *}"
	else
		echo "$PEER_WAIT_POLICIES"
	fi
}
