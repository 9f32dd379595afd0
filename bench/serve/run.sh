#!/usr/bin/env bash
# Load test of mrl serve (main.go): N synthetic Matryoshka-like vectors of
# dim D ingested through the API, then C concurrent loopback clients search
# for DURATION with PLAN; prints QPS, p50, p99, errors, recall of the plan,
# date, CPU and load average as a markdown table. Run it on an idle machine.
#
#   bench/serve/run.sh           print the table
#   bench/serve/run.sh --write   also write it to bench/serve/RESULTS.md
#
# Environment (defaults in brackets):
#   N [100000]  D [512]  C [16]  DURATION [60s]  K [10]
#   PLAN [64:200,512:10]   a funnel plan, "auto", or "" for exact search
#   (N=5000 DURATION=5s for a smoke test)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../peers.sh"
parse_args "$0" "$@" # sets write (--write) and root
flags=()
[ "$write" = 1 ] && flags=(-write)
cd "$root"
go run ./bench/serve -n "${N:-100000}" -d "${D:-512}" -c "${C:-16}" -duration "${DURATION:-60s}" \
	-k "${K:-10}" -plan "${PLAN-64:200,512:10}" -out "$here/RESULTS.md" "${flags[@]}"
