#!/usr/bin/env bash
# Fuzzes longer than the check does: builds build/fuzz (clang, -DCORONET_FUZZ=ON,
# the same tree as check.sh's fuzz step; -b for another) and runs each libFuzzer harness in turn
# for its share of the time. Each starts from the committed seed corpus
# (tests/fuzz/corpus/<harness>/) plus a work corpus kept outside the repository,
# into which libFuzzer (-fork mode) merges every new interesting input, so the
# next run goes on from there. A crash does not stop the run: every crash,
# leak or timeout input is copied into tests/fuzz/corpus/<harness>/ (named
# crash-<sha1>, leak-..., timeout-...), where each later check replays it as a
# regression input, and listed at the end. Replay one by hand with
#   CORONET_FUZZ_TRACE=1 build/fuzz/tests/fuzz/coronet-fuzz-<harness> FILE
# Exit status: 1 if any harness crashed, 0 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<USAGE
usage: cmake/fuzz.sh [-t SECONDS] [-w DIR] [-j JOBS] [-b DIR] [HARNESS...]
  -t SECONDS  total fuzzing time, shared evenly by the harnesses
              (default \$CORONET_FUZZ_SECONDS or 600)
  -w DIR      work corpus, one folder per harness (default \$CORONET_FUZZ_WORK
              or \${XDG_CACHE_HOME:-~/.cache}/coronet-fuzz)
  -j JOBS     parallel fuzzing processes per harness (default 1)
  -b DIR      build tree (default \$CORONET_FUZZ_BUILD or build/fuzz)
  HARNESS     run only these (default: all; names as in tests/fuzz/corpus/)
USAGE
}

seconds=${CORONET_FUZZ_SECONDS:-600}
work=${CORONET_FUZZ_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/coronet-fuzz}
jobs=1
build=${CORONET_FUZZ_BUILD:-build/fuzz}
for arg in "$@"; do [ "$arg" = "--help" ] && { usage; exit 0; }; done
while getopts "t:w:j:b:h" opt; do
    case $opt in
    t) seconds=$OPTARG ;;
    w) work=$OPTARG ;;
    j) jobs=$OPTARG ;;
    b) build=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

source cmake/deps.sh
install_deps
echo "== $build"
build_tree "$build" -DCMAKE_CXX_COMPILER=clang++ -DCORONET_FUZZ=ON -DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -g1"

if [ $# -gt 0 ]; then
    harnesses=("$@")
else
    harnesses=()
    for d in tests/fuzz/corpus/*/; do harnesses+=("$(basename "$d")"); done
fi
per=$((seconds / ${#harnesses[@]}))
[ "$per" -ge 1 ] || per=1

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
found=()
summary=()
for h in "${harnesses[@]}"; do
    bin=$build/tests/fuzz/coronet-fuzz-$h
    [ -x "$bin" ] || { echo "error: no harness $h ($bin)" >&2; exit 2; }
    mkdir -p "$work/$h/corpus" "$work/$h/artifacts"
    cp -n tests/fuzz/corpus/"$h"/* "$work/$h/corpus/" 2>/dev/null || true
    echo "== $h: ${per}s, work corpus $work/$h/corpus"
    log=$work/$h/last.log
    "$bin" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$per" -timeout=20 \
        -artifact_prefix="$work/$h/artifacts/" "$work/$h/corpus" >"$log" 2>&1 || true
    # The last status line of -fork mode: "#EXECS: cov: C ft: F corp: N exec/s E oom/timeout/crash: ..."
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
    execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    rate=$(sed -E 's/.*exec\/s ([0-9]+).*/\1/' <<<"$last")
    corpus=$(ls "$work/$h/corpus" | wc -l)
    crashes=0
    for a in "$work/$h/artifacts"/*; do
        [ -f "$a" ] || continue
        name=$(basename "$a")
        cp "$a" "tests/fuzz/corpus/$h/$name"
        mkdir -p "$work/$h/artifacts/reported"
        mv "$a" "$work/$h/artifacts/reported/"
        found+=("tests/fuzz/corpus/$h/$name")
        crashes=$((crashes + 1))
    done
    summary+=("$(printf '%-18s %10s execs %6s exec/s %6s corpus %3s crashes' "$h" "${execs:-?}" "${rate:-?}" "$corpus" "$crashes")")
done

echo "== summary (${per}s each; logs in $work/<harness>/last.log)"
printf '%s\n' "${summary[@]}"
if [ ${#found[@]} -gt 0 ]; then
    echo "== new regression inputs (every check now replays them; one by hand:"
    echo "   CORONET_FUZZ_TRACE=1 $build/tests/fuzz/coronet-fuzz-<harness> FILE)"
    printf '  %s\n' "${found[@]}"
    exit 1
fi
