#!/usr/bin/env bash
# The soak, outside check.sh: builds build/release (installing what is
# missing) and runs its ctest case (label soak; tests/netns/test_soak.cpp):
# kernel curl -> coronet-impair -> coronet-proxy -> coronet-impair -> kernel
# HTTP server, downloads and uploads of 1, 5 and 20 MiB while the impairment
# changes every phase. The verdict is the test's (sha256 of every transfer,
# the proxy's --summary-json, the relays' counters, the proxy's RSS); this
# prints its report. Needs root.
#
# Usage: cmake/soak.sh [--duration SECONDS]   (default 240; at least 10; the run
#                                              takes up to about 4.5 minutes more)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${CORONET_SOAK_SECONDS:-240}
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=${2:?--duration needs SECONDS}; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -ge 10 ] || { echo "soak.sh: --duration must be at least 10" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "soak.sh: needs root (network namespaces)" >&2; exit 2; }

source cmake/deps.sh
install_deps
build_tree build/release -DCMAKE_BUILD_TYPE=Release
CORONET_SOAK_SECONDS=$duration ctest --test-dir build/release -L soak --output-on-failure -V
