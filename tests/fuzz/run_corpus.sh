#!/bin/sh
# One fuzz ctest: runs HARNESS over a copy of its committed seed corpus (the
# copy takes what libFuzzer adds), first every seed, then RUNS inputs mutated
# from them with a fixed -seed. A crash, leak, timeout or broken invariant
# fails the test; the input is left in WORK/artifacts/.
# Usage: run_corpus.sh HARNESS CORPUS_DIR RUNS WORK_DIR
set -eu
harness=$1 corpus=$2 runs=$3 work=$4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$corpus" ]; then cp "$corpus"/* "$work/corpus/" 2>/dev/null || true; fi
exec "$harness" -runs="$runs" -seed=1 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus"
