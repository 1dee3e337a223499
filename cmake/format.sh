#!/usr/bin/env bash
# clang-format (the repository's .clang-format) over every C++ file git tracks.
#   cmake/format.sh          rewrites the files in place
#   cmake/format.sh --check  changes nothing; lists each file that is not formatted, exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -d '' files < <(git ls-files -z '*.cpp' '*.hpp' '*.h')
if [ "${1:-}" = "--check" ]; then
    # One clang-format over all files (one process per file took half a
    # minute); each violation it reports begins with the file's path.
    report=$(clang-format --dry-run --Werror "${files[@]}" 2>&1) && status=0 || status=$?
    mapfile -t unformatted < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$report" | sort -u)
    for f in "${unformatted[@]}"; do
        echo "not formatted: $f (cmake/format.sh fixes it)"
    done
    if [ "$status" -ne 0 ] && [ ${#unformatted[@]} -eq 0 ]; then
        echo "clang-format failed (exit $status):"
        echo "$report" | head -20
    fi
    [ "$status" -eq 0 ] && echo "all ${#files[@]} C++ files formatted"
    exit "$((status != 0))"
fi
clang-format -i "${files[@]}"
